#!/usr/bin/env bash
# Gives this machine (or a CI runner of the same kind) a private Docker engine, the Compose v2
# plugin and locally built images, with no image registry reachable. Idempotent: a second run
# only checks that everything is in place. Run as root. Network: only the Debian mirror that
# apt already uses, and the npm registry for the real NMIA's UI dependencies (its package-lock.json).
#
# Images: postgres:15, alpine:latest and nmia-drill/node:20 (the reference stack); for the real NMIA
# (the app repository NMIA_DRILL_APP_REPO: a path, git URL or bundle, optional #ref; default the
# bundle in ../shared/nmia/; set it empty to skip) nmia-drill/postgres:17 and nmia-api, nmia-worker,
# nmia-collector, nmia-ui, the names Compose v2 gives its services' built images in project nmia.
#
#   .ci/provision-docker.sh        # then: . /run/nmia-drill-docker.env
#   .ci/stop-docker.sh             # stops only this private dockerd
set -euo pipefail

readonly SOCK=/run/nmia-drill-docker.sock
readonly DOCKER_URL=unix://$SOCK
readonly DATA_ROOT=/var/lib/nmia-drill-docker
readonly EXEC_ROOT=/run/nmia-drill-docker-exec
readonly PIDFILE=/run/nmia-drill-docker.pid
readonly DOCKERD_LOG=/var/log/nmia-drill-docker.log
readonly ENV_FILE=/run/nmia-drill-docker.env
readonly LOCK_FILE=/run/nmia-drill-provision.lock
readonly CACHE=/var/cache/nmia-drill
readonly PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
readonly BRIDGE_IP=10.213.7.1/24
# Compose project networks stay in the same private range instead of docker's 172.x defaults.
readonly ADDRESS_POOL=base=10.213.8.0/21,size=24
readonly READY_TIMEOUT_S=60
# Storage driver: overlay2 whenever the kernel can mount an overlay on the data root's filesystem,
# vfs otherwise. Measured here: a container create takes 0.03–0.4 s on overlay2 and 7–9 s on vfs,
# which copies every file of the image for each container; a compose drill creates a dozen. vfs
# stays the fallback because it works on any filesystem (e.g. a data root that is itself on
# overlayfs, or a kernel without overlay). NMIA_DRILL_DOCKER_STORAGE_DRIVER=vfs|overlay2 forces
# one. Images are stored per driver: switching means stop-docker.sh, then a provision run, which
# rebuilds the images from the cached root fs.
STORAGE_DRIVER=${NMIA_DRILL_DOCKER_STORAGE_DRIVER:-auto}
# Free space the first build needs (root fs cache, vfs copies of three images, a few containers).
readonly MIN_FREE_GB=6
readonly IMAGE_SUITE=bookworm
readonly COMPOSE_SUITE=trixie
# The real NMIA's images come from trixie: its PostgreSQL 17 stands in for postgres:16-alpine (Debian
# has no 16), and its Python packages are what the app's services import (no PyPI here).
readonly APP_SUITE=trixie
# One root fs carries both postgres:15 and nmia-drill/node:20 (node needs only libc/libstdc++).
readonly ROOTFS_TAR=$CACHE/rootfs-$IMAGE_SUITE-minbase-postgresql-15.tar
readonly PG17_ROOTFS_TAR=$CACHE/rootfs-$APP_SUITE-minbase-postgresql-17.tar
readonly STAMP_LABEL=org.nmia-drill.inputs
# Bump when the way an image is assembled changes, so existing images get rebuilt.
readonly RECIPE_VERSION=4
# The fixture LDAP directory (compose service `directory`) runs slapd next to node: slapd and the
# libraries the minbase root fs lacks, unpacked without maintainer scripts (no system instance).
readonly SLAPD_DEBS=(slapd libltdl7 libwrap0 libnsl2 libtirpc3 libtirpc-common)
# The real NMIA (its own docker-compose.yml, project `nmia`): Compose v2 names a built service's image
# <project>-<service> and runs an existing image of that name without building it.
readonly APP_PROJECT=nmia
readonly APP_LABEL=org.nmia-drill.app-commit
# What the app's api, worker and collector import (their pyproject.toml files), as trixie packages.
# `uvicorn` gives the uvicorn command their CMDs run; python3-watchfiles serves the api's --reload.
readonly APP_PYTHON_PACKAGES=(
  python3 python3-fastapi uvicorn python3-uvicorn python3-sqlalchemy python3-psycopg2 python3-pydantic
  python3-pydantic-settings python3-email-validator python3-passlib python3-bcrypt python3-python-multipart
  python3-httpx python3-apscheduler python3-ldap3 python3-cryptography python3-watchfiles python-is-python3
  python3-ecdsa python3-rsa python3-pyasn1 python3-cffi-backend
)
# python3-cffi-backend: python3-cryptography depends on the virtual python3-cffi-backend-api-min/max,
# which debootstrap's resolver does not follow (configure fails without it).
# python-jose is only packaged up to bookworm (arch all); its dependencies are ecdsa, rsa and pyasn1 above.
readonly APP_PYTHON_BOOKWORM_DEBS=(python3-jose)
readonly APP_PYTHON_BASE=nmia-drill/python:$APP_SUITE

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly IMAGES_DIR=$HERE/../fixtures/stack/images
readonly PG_ENTRYPOINT=$IMAGES_DIR/postgres/docker-entrypoint.sh
# The app repository (path, git URL or bundle; optional #ref): env, else the bundle next to the checkout.
readonly APP_REPO_CANDIDATES=("$HERE/../../shared/nmia/nmia.bundle" /work/shared/nmia/nmia.bundle)

export DOCKER_HOST=$DOCKER_URL
unset DOCKER_CONTEXT
export DEBIAN_FRONTEND=noninteractive
START_S=$SECONDS

log() { printf '[provision-docker +%ss] %s\n' "$((SECONDS - START_S))" "$*" >&2; }
# One line: what failed and how to fix it.
fail() { printf 'provision-docker: %s\n' "$*" >&2; exit 1; }

CLEANUP=()
run_cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[i]}" || true; done
}
trap run_cleanup EXIT
trap 'exit 130' INT TERM # so the EXIT trap cleans up on Ctrl-C too

# rm -rf that never follows a leftover mount (debootstrap mounts /proc inside its target).
remove_tree() {
  local dir=$1 mnt
  [[ -d $dir ]] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

preflight() {
  [[ $(id -u) == 0 ]] || fail "must run as root (uid is $(id -u)): it installs packages and starts dockerd; fix: sudo $0"
  command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
    fail "apt-get/dpkg not found: this script targets Debian 12 machines; fix: run it on Debian with apt, or provide Docker yourself"
  [[ -f $PG_ENTRYPOINT ]] || fail "missing $PG_ENTRYPOINT; fix: run from a complete checkout of the repository"
  mkdir -p "$CACHE"
  exec 9>"$LOCK_FILE"
  flock 9 # a second provisioning run waits instead of racing this one
}

# First URI of an enabled "deb" source for suite $1, read from apt's own configuration.
apt_mirror_for() {
  local suite=$1 f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -r $f ]] || continue
      awk -v suite="$suite" '
        /^[[:space:]]*#/ { next }
        $1 == "deb" {
          i = 2
          if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == suite) print $i
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -r $f ]] || continue
      awk -v suite="$suite" '
        function value(line) { sub(/^[^:]*:[[:space:]]*/, "", line); gsub(/[[:space:]]+/, " ", line); return line }
        function flush() {
          if ((" " types " ") ~ / deb / && enabled != "no" && index(" " suites " ", " " suite " ") > 0) {
            split(uris, u, " "); print u[1]
          }
          types = suites = uris = ""; enabled = "yes"
        }
        BEGIN { enabled = "yes" }
        /^[[:space:]]*$/ { flush(); next }
        /^[[:space:]]*#/ { next }
        tolower($1) == "types:"   { types = value($0) }
        tolower($1) == "uris:"    { uris = value($0) }
        tolower($1) == "suites:"  { suites = value($0) }
        tolower($1) == "enabled:" { enabled = tolower(value($0)) }
        END { flush() }' "$f"
    done
  } | awk 'NF && !done { print; done = 1 }'
}

find_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  MIRROR=$(apt_mirror_for "$IMAGE_SUITE")
  [[ -n $MIRROR || -z $codename ]] || MIRROR=$(apt_mirror_for "$codename")
  [[ -n $MIRROR ]] || fail "no enabled 'deb' source for $IMAGE_SUITE in /etc/apt/sources.list*; fix: configure apt with the Debian mirror"
  readonly MIRROR
}

pkg_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
pkg_known() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { ok = 1 } END { exit !ok }'; }

apt_install() {
  # Without a policy-rc.d, docker.io's postinst could start a system dockerd with iptables rules.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    CLEANUP+=("rm -f /usr/sbin/policy-rc.d")
  fi
  apt-get install -y -q --no-install-recommends "$@"
}

ensure_packages() {
  local missing=() p need_update=0
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || { log "packages present: $*"; return 0; }
  for p in "${missing[@]}"; do pkg_known "$p" || need_update=1; done
  if ((need_update)); then
    log "apt-get update (lists do not know: ${missing[*]})"
    apt-get update -q || fail "apt-get update failed; fix: check that the Debian mirror in /etc/apt/sources.list* is reachable"
  fi
  log "installing ${missing[*]}"
  if ! apt_install "${missing[@]}"; then
    # Stale lists give 404s on the mirror: refresh once, then retry.
    log "install failed; refreshing apt lists once and retrying"
    apt-get update -q || fail "apt-get update failed; fix: check that the Debian mirror in /etc/apt/sources.list* is reachable"
    apt_install "${missing[@]}" || fail "apt-get install ${missing[*]} failed; fix: read apt's output above"
  fi
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

dockerd_pid() {
  local pid
  [[ -s $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
  echo "$pid"
}

# 0 when an overlay mounts on the data root's filesystem, as overlay2 needs (lower/upper/work dirs).
overlay_works() {
  local probe ok=1
  mkdir -p "$DATA_ROOT"
  probe=$(mktemp -d "$DATA_ROOT/.overlay-probe.XXXXXX") || return 1
  mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged" && ok=0
  fi
  rm -rf "$probe"
  return "$ok"
}

choose_storage_driver() {
  case $STORAGE_DRIVER in
    vfs | overlay2) log "storage driver $STORAGE_DRIVER (NMIA_DRILL_DOCKER_STORAGE_DRIVER)" ;;
    auto)
      if overlay_works; then STORAGE_DRIVER=overlay2; else STORAGE_DRIVER=vfs; fi
      log "storage driver $STORAGE_DRIVER (overlay mount on $DATA_ROOT: $([[ $STORAGE_DRIVER == overlay2 ]] && echo works || echo fails))"
      ;;
    *) fail "NMIA_DRILL_DOCKER_STORAGE_DRIVER=$STORAGE_DRIVER is not supported; fix: use vfs, overlay2, or unset it" ;;
  esac
}

# Starts dockerd with driver $1 and waits until it answers; 1 when it exits during start-up.
launch_dockerd() {
  local driver=$1 dockerd pid
  dockerd=$(command -v dockerd || echo /usr/sbin/dockerd) # CI PATHs may lack /usr/sbin
  [[ -x $dockerd ]] || fail "no dockerd binary although docker.io is installed; fix: apt-get install --reinstall docker.io"
  rm -f "$PIDFILE" # stale: its process is gone or is not dockerd
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$DOCKERD_LOG")"
  log "starting private dockerd on $SOCK with $driver (log: $DOCKERD_LOG)"
  # iptables/masquerade/ip-forward off: nothing is routed or NATed off this machine. Published
  # ports default to 127.0.0.1 and go through docker-proxy. setsid: the engine outlives us.
  setsid nohup "$dockerd" \
    --iptables=false --ip-masq=false --ip-forward=false \
    --bip="$BRIDGE_IP" --default-address-pool "$ADDRESS_POOL" --ip=127.0.0.1 \
    --storage-driver="$driver" \
    --data-root="$DATA_ROOT" --exec-root="$EXEC_ROOT" --pidfile="$PIDFILE" \
    -H "$DOCKER_URL" \
    >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- & # 9>&-: the engine must not hold our lock
  pid=$!
  wait_for_engine "$pid"
}

# 0 once the engine answers; 1 when process $1 exits first; fails after READY_TIMEOUT_S.
wait_for_engine() {
  local pid=$1 deadline=$((SECONDS + READY_TIMEOUT_S))
  until engine_answers; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      fail "dockerd did not answer on $SOCK within ${READY_TIMEOUT_S}s; fix: read $DOCKERD_LOG (tail above)"
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
}

start_engine() {
  command -v docker >/dev/null || fail "no docker CLI on PATH after installing docker.io; fix: check PATH includes /usr/bin"
  if engine_answers; then
    local driver
    driver=$(docker info -f '{{.Driver}}')
    log "engine already answers on $SOCK (storage driver $driver)"
    if [[ $STORAGE_DRIVER != auto && $driver != "$STORAGE_DRIVER" ]]; then
      log "note: $STORAGE_DRIVER was asked for; to switch: .ci/stop-docker.sh, then this script (images are rebuilt)"
    elif [[ $STORAGE_DRIVER == auto && $driver == vfs ]] && overlay_works; then
      log "note: overlay2 would be faster here; to switch: .ci/stop-docker.sh, then this script (images are rebuilt)"
    fi
    STORAGE_DRIVER=$driver
    # Another dockerd started with --bridge=none deletes docker0, and ours does not notice.
    [[ -e /sys/class/net/docker0 ]] ||
      fail "the engine answers but its bridge docker0 is gone; fix: .ci/stop-docker.sh, then run this script again"
    return 0
  fi
  local pid
  if pid=$(dockerd_pid); then
    log "dockerd $pid is up but not answering yet; waiting"
    if ! wait_for_engine "$pid"; then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      fail "dockerd exited during start-up; fix: read $DOCKERD_LOG (tail above)"
    fi
  else
    choose_storage_driver
    if ! launch_dockerd "$STORAGE_DRIVER"; then
      if [[ $STORAGE_DRIVER == overlay2 && -z ${NMIA_DRILL_DOCKER_STORAGE_DRIVER:-} ]]; then
        log "dockerd exited with overlay2 ($(tail -n1 "$DOCKERD_LOG")); falling back to vfs"
        STORAGE_DRIVER=vfs
        launch_dockerd vfs || { tail -n 20 "$DOCKERD_LOG" >&2 || true; fail "dockerd exited during start-up; fix: read $DOCKERD_LOG (tail above)"; }
      else
        tail -n 20 "$DOCKERD_LOG" >&2 || true
        fail "dockerd exited during start-up with $STORAGE_DRIVER; fix: read $DOCKERD_LOG (tail above), or set NMIA_DRILL_DOCKER_STORAGE_DRIVER=vfs"
      fi
    fi
  fi
  log "engine ready: $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}')"
}

compose_is_v2() { [[ $(docker compose version --short 2>/dev/null || true) =~ ^v?2\. ]]; }

install_compose_v2() {
  if compose_is_v2; then
    log "compose present: $(docker compose version --short)"
    return 0
  fi
  local deb
  deb=$(ls "$CACHE"/docker-compose_2*.deb 2>/dev/null | tail -n1 || true)
  if [[ -z $deb ]]; then
    local tmp keyring=/usr/share/keyrings/debian-archive-keyring.gpg opt=""
    tmp=$(mktemp -d /var/tmp/nmia-drill-apt.XXXXXX)
    CLEANUP+=("rm -rf '$tmp'")
    chmod 755 "$tmp"
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/dl"
    chown _apt "$tmp/dl" 2>/dev/null || true # apt downloads as _apt
    [[ -r $keyring ]] && opt="[signed-by=$keyring] "
    # A throw-away sources list and lists dir: the system's apt sources stay on bookworm.
    printf 'deb %s%s %s main\n' "$opt" "$MIRROR" "$COMPOSE_SUITE" >"$tmp/sources.list"
    local apt_opts=(-q -o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=/dev/null
      -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Acquire::Languages=none)
    log "fetching docker-compose (Compose v2) from $COMPOSE_SUITE on $MIRROR"
    apt-get "${apt_opts[@]}" update >&2 ||
      fail "apt-get update for $COMPOSE_SUITE failed; fix: check that $MIRROR serves $COMPOSE_SUITE"
    (cd "$tmp/dl" && apt-get "${apt_opts[@]}" download docker-compose >&2) ||
      fail "apt-get download docker-compose from $COMPOSE_SUITE failed; fix: read apt's output above"
    deb=$(ls "$tmp"/dl/docker-compose_*.deb | head -n1)
    cp "$deb" "$CACHE/"
    deb=$CACHE/$(basename "$deb")
  fi
  mkdir -p "$PLUGIN_DIR"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/libexec/docker/cli-plugins/docker-compose >"$PLUGIN_DIR/docker-compose.new" ||
    fail "no usr/libexec/docker/cli-plugins/docker-compose in $deb; fix: delete it and re-run"
  chmod 755 "$PLUGIN_DIR/docker-compose.new"
  mv "$PLUGIN_DIR/docker-compose.new" "$PLUGIN_DIR/docker-compose"
  compose_is_v2 || fail "docker compose does not report v2 after installing $PLUGIN_DIR/docker-compose; fix: check 'docker compose version'"
  log "compose installed: $(docker compose version --short)"
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_stamp() { docker image inspect -f "{{ index .Config.Labels \"$STAMP_LABEL\" }}" "$1" 2>/dev/null || true; }

# 0 when $1 must be (re)built: missing, or ours with other inputs. A foreign image of that name
# (no stamp label, e.g. a real one someone docker-loaded) is left alone.
needs_build() {
  local name=$1 want=$2 have
  [[ -n $(image_id "$name") ]] || return 0
  have=$(image_stamp "$name")
  if [[ -z $have || $have == "<no value>" ]]; then
    log "$name exists and is not ours; keeping it"
    return 1
  fi
  [[ $have != "$want" ]] || { log "$name up to date"; return 1; }
  log "$name is stale (inputs changed); rebuilding"
  return 0
}

# An image that failed its check must not pass as up to date next time (it carries the stamp).
reject_image() {
  docker rmi -f "$1" >/dev/null 2>&1 || true
  fail "$2"
}

# Replaces $1 with an image imported from tar file $2; extra args are --change instructions.
import_image() {
  local name=$1 tarball=$2 old
  shift 2
  old=$(image_id "$name")
  docker import "$@" "$tarball" "$name" >/dev/null || fail "docker import of $name failed; fix: read dockerd's log $DOCKERD_LOG"
  if [[ -n $old && $old != "$(image_id "$name")" ]]; then
    docker rmi "$old" >/dev/null 2>&1 || true # still used by a container: leave it
  fi
}

ensure_rootfs() { debootstrap_tar "$IMAGE_SUITE" "$ROOTFS_TAR" postgresql-15; }

# Caches a minbase root fs of suite $1 with packages $3 (comma list) as tar file $2. Function $4, if
# given, finishes the root (its path is the argument) before it is packed.
debootstrap_tar() {
  local suite=$1 tarball=$2 include=$3 finish=${4:-} root log
  [[ -s $tarball ]] && return 0
  check_space
  log=$CACHE/debootstrap-$(basename "$tarball" .tar).log
  root=$(mktemp -d /var/tmp/nmia-drill-rootfs.XXXXXX)
  CLEANUP+=("remove_tree '$root'")
  log "debootstrap --variant=minbase $suite (+ ${include//,/ }) from $MIRROR (log: $log)"
  local started=$SECONDS
  if ! debootstrap --variant=minbase --include="$include" "$suite" "$root" "$MIRROR" >"$log" 2>&1; then
    # debootstrap's own log is inside the root, which is removed: keep it, and show dpkg's complaints.
    cat "$root/debootstrap/debootstrap.log" >>"$log" 2>/dev/null || true
    { grep -E 'depends on|^E:|error' "$log" | sort -u | tail -n 10; tail -n 5 "$log"; } >&2 || true
    fail "debootstrap of $suite failed; fix: read $log (tail above)"
  fi
  [[ -z $finish ]] || "$finish" "$root"
  # Debian's package creates a 'main' cluster; the official image has none (PGDATA starts empty).
  rm -rf "$root"/etc/postgresql/[0-9]*/main "$root"/var/lib/postgresql/[0-9]* "$root/var/cache/apt/archives/"*.deb \
    "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
  chmod 755 "$root" # mktemp made it 0700, and tar records that as the mode of /
  tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$tarball.new" .
  mv "$tarball.new" "$tarball"
  remove_tree "$root"
  log "cached root fs in $((SECONDS - started))s: $tarball ($(du -h "$tarball" | cut -f1))"
}

# Checked before building only: a machine with everything in place needs no more room.
check_space() {
  local dir free_gb
  for dir in "$CACHE" /var/tmp "$DATA_ROOT"; do
    [[ -d $dir ]] || continue
    free_gb=$(df --output=avail -BG "$dir" | awk 'NR == 2 { print $1 + 0 }')
    ((free_gb >= MIN_FREE_GB)) || fail "only ${free_gb} GB free under $dir, building images needs ${MIN_FREE_GB} GB; fix: free disk space there"
  done
}

new_workdir() {
  check_space
  WORK=$(mktemp -d /var/tmp/nmia-drill-image.XXXXXX)
  CLEANUP+=("remove_tree '$WORK'")
}

# vfs copies every file of an image at each container create (measured ~2 ms a file here), so
# images leave out what no container reads: docs (copyright kept), man pages, translations,
# locale sources, and the LLVM JIT (postgres then runs without JIT, as a --without-llvm build).
readonly TRIM_EXCLUDES=(
  './usr/share/man/*' './usr/share/info/*' './usr/share/locale/*' './usr/share/i18n/*'
  './usr/share/lintian/*' './usr/lib/postgresql/*/lib/bitcode' './usr/lib/postgresql/*/lib/llvmjit*'
  './usr/lib/x86_64-linux-gnu/libLLVM-*' './usr/lib/x86_64-linux-gnu/libLLVM.so*' './usr/lib/x86_64-linux-gnu/libz3.so*'
)
# The node image has no use for the server or perl's full library (perl-base stays).
readonly NODE_EXCLUDES=(
  './usr/lib/postgresql' './usr/share/postgresql' './usr/share/postgresql-common' './etc/postgresql'
  './etc/postgresql-common' './var/lib/postgresql' './usr/share/perl/*' './usr/lib/x86_64-linux-gnu/perl/*'
  './usr/lib/x86_64-linux-gnu/libicu*'
)

# The .deb files of packages $@ from this machine's suite, cached; prints their paths.
ensure_host_debs() {
  local dir=$CACHE/debs-$IMAGE_SUITE pkg missing=()
  mkdir -p "$dir"
  for pkg in "$@"; do
    compgen -G "$dir/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "fetching ${missing[*]} (.deb only, unpacked into images)"
    local tmp
    tmp=$(mktemp -d /var/tmp/nmia-drill-debs.XXXXXX)
    CLEANUP+=("rm -rf '$tmp'")
    chmod 755 "$tmp"
    chown _apt "$tmp" 2>/dev/null || true # apt downloads as _apt
    if ! (cd "$tmp" && apt-get -q download "${missing[@]}" >&2); then
      apt-get update -q >&2 || true
      (cd "$tmp" && apt-get -q download "${missing[@]}" >&2) ||
        fail "apt-get download ${missing[*]} failed; fix: check that the Debian mirror in /etc/apt/sources.list* is reachable"
    fi
    mv "$tmp"/*.deb "$dir/"
    rm -rf "$tmp" # runs in $(…): the EXIT trap's CLEANUP list does not see this subshell's entries
  fi
  for pkg in "$@"; do ls "$dir/${pkg}_"*.deb | tail -n1; done
}

# Writes $WORK/rootfs.tar from cached root fs $1 minus trims and the given --exclude patterns,
# plus file $2 (- for none) at path $3, plus the contents of the .deb files in EXTRA_DEBS (no maintainer scripts).
EXTRA_DEBS=()
assemble_rootfs() {
  local from=$1 src=$2 dest=$3 pattern deb
  shift 3
  local excludes=()
  for pattern in "${TRIM_EXCLUDES[@]}" "$@"; do excludes+=("--exclude=$pattern"); done
  mkdir "$WORK/root"
  tar --numeric-owner -xpf "$from" -C "$WORK/root" "${excludes[@]}"
  # --keep-directory-symlink: the merged-/usr links (/lib → usr/lib, …) must stay links.
  for deb in "${EXTRA_DEBS[@]}"; do
    dpkg-deb --fsys-tarfile "$deb" | tar --numeric-owner --keep-directory-symlink -xpf - -C "$WORK/root" ||
      fail "cannot unpack $deb; fix: delete it and re-run"
  done
  rm -rf "$WORK/root/usr/share/man" && mkdir -p "$WORK/root/usr/share/man"
  chmod 755 "$WORK/root" # / must be traversable by the postgres user
  find "$WORK/root/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
  find "$WORK/root/usr/share/doc" -mindepth 1 -type d -empty -delete
  if [[ $src != - ]]; then
    mkdir -p "$WORK/root/$(dirname "$dest")"
    cp "$src" "$WORK/root/$dest"
    chown 0:0 "$WORK/root/$dest"
    chmod 755 "$WORK/root/$dest"
  fi
  tar --numeric-owner -C "$WORK/root" -cf "$WORK/rootfs.tar" .
  remove_tree "$WORK/root"
}

readonly STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# build_postgres_image NAME MAJOR ROOTFS_TAR: an image with the official postgres image's contract.
build_postgres_image() {
  local name=$1 major=$2 rootfs=$3 base stamp old out started=$SECONDS
  base=nmia-drill/postgres-rootfs:$major
  stamp=$(cat <(echo "recipe=$RECIPE_VERSION rootfs=$(basename "$rootfs")") "$PG_ENTRYPOINT" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  if [[ $rootfs == "$ROOTFS_TAR" ]]; then ensure_rootfs; else debootstrap_tar "$APP_SUITE" "$rootfs" "postgresql-$major"; fi
  log "building $name"
  new_workdir
  assemble_rootfs "$rootfs" "$PG_ENTRYPOINT" usr/local/bin/docker-entrypoint.sh
  import_image "$base" "$WORK/rootfs.tar" \
    -c "ENV PATH=/usr/lib/postgresql/$major/bin:$STD_PATH" \
    -c "ENV PG_MAJOR=$major" \
    -c 'ENV LANG=C.UTF-8' \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'VOLUME /var/lib/postgresql/data' \
    -c 'EXPOSE 5432' \
    -c 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    -c "LABEL $STAMP_LABEL=$stamp"
  rm -rf "$WORK"
  # SIGINT = fast shutdown, as in the official image (SIGTERM waits for every client to leave,
  # so `docker stop` would end in SIGKILL). import cannot set STOPSIGNAL; a metadata-only
  # build on top of the local image can, and needs no registry.
  old=$(image_id "$name")
  printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$base" | DOCKER_BUILDKIT=0 docker build -q -t "$name" - >/dev/null 2>"$CACHE/build.log" ||
    fail "docker build of $name from $base failed ($(tail -n1 "$CACHE/build.log")); fix: read $CACHE/build.log"
  docker rmi "$base" >/dev/null # untag only: $name still uses its layer
  if [[ -n $old && $old != "$(image_id "$name")" ]]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  out=$(docker run --rm "$name" postgres --version 2>"$CACHE/run.log") ||
    reject_image "$name" "$name does not run 'postgres --version' ($(tail -n1 "$CACHE/run.log")); fix: read $CACHE/run.log"
  check_postgres_contract "$name"
  log "$name built in $((SECONDS - started))s: $out, $(image_size "$name")"
}

image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%d MB", $1 / 1000000 }'; }

# What the stack relies on: initdb with POSTGRES_USER/PASSWORD/DB, pg_isready (the compose healthcheck),
# and scram-sha-256 over TCP (a wrong password refused, the right one accepted) from another address.
check_postgres_contract() {
  local name=$1 cid ip i out
  cid=$(docker run -d -e POSTGRES_USER=drillcheck -e POSTGRES_PASSWORD=check-pw -e POSTGRES_DB=drillcheckdb "$name" 2>"$CACHE/run.log") ||
    reject_image "$name" "$name does not start ($(tail -n1 "$CACHE/run.log")); fix: read $CACHE/run.log"
  CLEANUP+=("docker rm -f -v $cid >/dev/null 2>&1")
  for ((i = 0; i < 120; i++)); do
    # Over TCP, so the socket-only server of the init phase does not count.
    docker exec "$cid" pg_isready -q -h 127.0.0.1 -U drillcheck -d drillcheckdb 2>/dev/null && break
    sleep 0.5
  done
  docker exec "$cid" pg_isready -q -U drillcheck -d drillcheckdb ||
    reject_image "$name" "$name: pg_isready fails 60 s after start ($(docker logs "$cid" 2>&1 | tail -n1)); fix: docker run the image and read its log"
  ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cid")
  if docker exec -e PGPASSWORD=wrong "$cid" psql -h "$ip" -U drillcheck -d drillcheckdb -Atc 'select 1' >/dev/null 2>&1; then
    reject_image "$name" "$name accepts a wrong password over TCP; fix: check pg_setup_hba_conf in $PG_ENTRYPOINT"
  fi
  out=$(docker exec -e PGPASSWORD=check-pw "$cid" psql -h "$ip" -U drillcheck -d drillcheckdb -Atc \
    "select current_database() || ' ' || (select rolpassword like 'SCRAM-SHA-256\$%' from pg_authid where rolname = current_user)" 2>"$CACHE/run.log") || true
  [[ $out == "drillcheckdb true" ]] ||
    reject_image "$name" "$name: POSTGRES_USER/PASSWORD/DB or scram over TCP do not work (got '$out', $(tail -n1 "$CACHE/run.log")); fix: read $PG_ENTRYPOINT"
  docker rm -f -v "$cid" >/dev/null
}

build_node_image() {
  local name=nmia-drill/node:20 node stamp out debs
  node=$(command -v node) || fail "no node on PATH to copy into $name; fix: install Node 20"
  node=$(readlink -f "$node")
  debs=$(ensure_host_debs "${SLAPD_DEBS[@]}")
  stamp=$(echo "recipe=$RECIPE_VERSION rootfs=$(basename "$ROOTFS_TAR") node=$("$node" --version) $(stat -c '%s %Y' "$node") debs=$(basename -a $debs | tr '\n' ' ')" |
    sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  ensure_rootfs
  log "building $name with $node ($("$node" --version)) and slapd"
  new_workdir
  mapfile -t EXTRA_DEBS <<<"$debs"
  assemble_rootfs "$ROOTFS_TAR" "$node" usr/local/bin/node "${NODE_EXCLUDES[@]}"
  EXTRA_DEBS=()
  import_image "$name" "$WORK/rootfs.tar" \
    -c "ENV PATH=$STD_PATH" \
    -c 'ENV LANG=C.UTF-8' \
    -c "ENV NODE_VERSION=$("$node" --version | tr -d v)" \
    -c 'CMD ["node"]' \
    -c "LABEL $STAMP_LABEL=$stamp"
  rm -rf "$WORK"
  out=$(docker run --rm "$name" node -e 'console.log(1)' 2>"$CACHE/run.log") || true
  [[ $out == 1 ]] || reject_image "$name" "$name cannot run node ($(tail -n1 "$CACHE/run.log")); fix: add the missing libraries to the debootstrap --include list"
  # What fixtures/directory needs: slapd with every library, back_mdb and the stock schemas.
  docker run --rm "$name" sh -c '! ldd /usr/sbin/slapd | grep -q "not found" && slapd -VV 2>/dev/null &&
    test -e /usr/lib/ldap/back_mdb.la && test -f /etc/ldap/schema/inetorgperson.schema' >/dev/null 2>"$CACHE/run.log" ||
    reject_image "$name" "$name cannot run slapd ($(tail -n1 "$CACHE/run.log")); fix: add the missing package to SLAPD_DEBS"
  log "$name built: node $(docker run --rm "$name" node --version 2>/dev/null)"
}

build_alpine_image() {
  local name=alpine:latest busybox stamp root applet
  busybox=$(dpkg -L busybox-static | grep -m1 -E '/s?bin/busybox$') || fail "busybox-static has no busybox binary; fix: apt-get install --reinstall busybox-static"
  stamp=$(echo "recipe=$RECIPE_VERSION busybox-static=$(dpkg-query -W -f='${Version}' busybox-static)" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  log "building $name (busybox-static stand-in)"
  root=$(mktemp -d /var/tmp/nmia-drill-alpine.XXXXXX)
  CLEANUP+=("rm -rf '$root'")
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/root" "$root/tmp"
  chmod 755 "$root"
  chmod 1777 "$root/tmp"
  chmod 700 "$root/root"
  cp "$busybox" "$root/bin/busybox"
  while read -r applet; do
    [[ -n $applet && $applet != bin/busybox && ! -e $root/$applet ]] || continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /bin/busybox "$root/$applet"
  done < <("$busybox" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$root.tar" .
  CLEANUP+=("rm -f '$root.tar'")
  import_image "$name" "$root.tar" -c "ENV PATH=$STD_PATH" -c 'CMD ["/bin/sh"]' -c "LABEL $STAMP_LABEL=$stamp"
  rm -rf "$root" "$root.tar"
  docker run --rm "$name" sh -c 'command -v tar && command -v gzip' >/dev/null 2>"$CACHE/run.log" ||
    reject_image "$name" "$name lacks sh/tar/gzip ($(tail -n1 "$CACHE/run.log")); fix: read $CACHE/run.log"
  log "$name built"
}

# Installs the bookworm-only .deb files into a trixie root ($1), with dpkg so that they are recorded.
finish_app_python_root() {
  local root=$1 deb
  for deb in "${APP_PYTHON_DEBS[@]}"; do
    cp "$deb" "$root/tmp/"
    chroot "$root" dpkg -i "/tmp/$(basename "$deb")" >>"$CACHE/debootstrap-app-python.log" 2>&1 ||
      fail "dpkg -i $(basename "$deb") in the $APP_SUITE root failed; fix: read $CACHE/debootstrap-app-python.log"
    rm -f "$root/tmp/$(basename "$deb")"
  done
}

# One trixie root fs for the app's three Python services.
build_app_python_base() {
  local name=$APP_PYTHON_BASE tarball stamp started=$SECONDS include debs
  debs=$(ensure_host_debs "${APP_PYTHON_BOOKWORM_DEBS[@]}") # an assignment, so that its fail stops us
  mapfile -t APP_PYTHON_DEBS <<<"$debs"
  include=$(IFS=,; echo "${APP_PYTHON_PACKAGES[*]}")
  tarball=$CACHE/rootfs-$APP_SUITE-minbase-python-$(echo "$include $(basename -a "${APP_PYTHON_DEBS[@]}")" | sha256sum | cut -c1-12).tar
  stamp=$(echo "recipe=$RECIPE_VERSION rootfs=$(basename "$tarball")" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  debootstrap_tar "$APP_SUITE" "$tarball" "$include" finish_app_python_root
  log "building $name"
  new_workdir
  assemble_rootfs "$tarball" - -
  import_image "$name" "$WORK/rootfs.tar" \
    -c "ENV PATH=$STD_PATH" \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["python3"]' \
    -c "LABEL $STAMP_LABEL=$stamp"
  rm -rf "$WORK"
  docker run --rm "$name" python -c 'import fastapi, uvicorn, sqlalchemy, psycopg2, pydantic, pydantic_settings, email_validator, passlib, bcrypt, python_multipart, httpx, apscheduler, ldap3, cryptography, watchfiles, jose' \
    >/dev/null 2>"$CACHE/run.log" ||
    reject_image "$name" "$name cannot import the app's dependencies ($(tail -n1 "$CACHE/run.log")); fix: add the missing package to APP_PYTHON_PACKAGES"
  log "$name built in $((SECONDS - started))s: $(image_size "$name")"
}

# The app repository: NMIA_DRILL_APP_REPO, else the first bundle of APP_REPO_CANDIDATES; 1 when none
# (or when NMIA_DRILL_APP_REPO is set to the empty string: no app images wanted).
find_app_repo() {
  local candidate
  if [[ -n ${NMIA_DRILL_APP_REPO+set} ]]; then
    APP_REPO=$NMIA_DRILL_APP_REPO
    [[ -n $APP_REPO ]]
    return
  fi
  for candidate in "${APP_REPO_CANDIDATES[@]}"; do
    [[ -f $candidate ]] || continue
    APP_REPO=$(readlink -f "$candidate")
    return 0
  done
  return 1
}

# Clones APP_REPO (<path | git URL | bundle>[#ref]) into APP_DIR; sets APP_COMMIT.
clone_app() {
  local source=${APP_REPO%%#*} ref=HEAD dir
  [[ $APP_REPO == *#* ]] && ref=${APP_REPO#*#}
  APP_DIR=$(mktemp -d /var/tmp/nmia-drill-app.XXXXXX)
  CLEANUP+=("rm -rf '$APP_DIR'")
  git clone -q --no-checkout "$source" "$APP_DIR" 2>"$CACHE/git.log" ||
    fail "git clone of the app repository $source failed ($(tail -n1 "$CACHE/git.log")); fix: set NMIA_DRILL_APP_REPO to an NMIA repository (path, git URL or bundle)"
  # A branch of the cloned repository exists here as origin/<branch>.
  APP_COMMIT=$(git -C "$APP_DIR" rev-parse -q --verify "$ref^{commit}" || git -C "$APP_DIR" rev-parse -q --verify "origin/$ref^{commit}") ||
    fail "the app repository $source has no branch, tag or commit '$ref'; fix: name one after '#' in NMIA_DRILL_APP_REPO"
  git -C "$APP_DIR" -c advice.detachedHead=false checkout -q --detach "$APP_COMMIT"
  for dir in api/src worker/src collector-windows/src ui/package-lock.json; do
    [[ -e $APP_DIR/$dir ]] || fail "$source at $APP_COMMIT has no $dir: not an NMIA repository; fix: point NMIA_DRILL_APP_REPO at one"
  done
}

# build_app_python_image SERVICE DIR CMD-JSON MODULE [docker run args]: mirrors DIR/Dockerfile on the
# Debian base (pip cannot run here), then checks that the service's MODULE imports in the image.
build_app_python_image() {
  local service=$1 dir=$2 cmd=$3 module=$4 name=$APP_PROJECT-$1 stamp ctx started=$SECONDS
  shift 4
  stamp=$(echo "recipe=$RECIPE_VERSION base=$(image_stamp "$APP_PYTHON_BASE") commit=$APP_COMMIT dir=$dir cmd=$cmd" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  log "building $name from $dir/ at ${APP_COMMIT:0:12}"
  ctx=$WORK/ctx-$service
  mkdir "$ctx"
  cp "$APP_DIR/$dir/pyproject.toml" "$ctx/" 2>/dev/null || touch "$ctx/pyproject.toml"
  cp -a "$APP_DIR/$dir/src" "$ctx/src"
  # The app's Dockerfile minus `pip install .` (its dependencies are in the base already).
  cat >"$ctx/Dockerfile" <<EOF
FROM $APP_PYTHON_BASE
WORKDIR /app
COPY pyproject.toml .
COPY src/ ./src/
ENV PYTHONPATH=/app/src
CMD $cmd
LABEL $STAMP_LABEL=$stamp $APP_LABEL=$APP_COMMIT
EOF
  docker_build "$name" "$ctx"
  docker run --rm "$@" "$name" python -c "import $module" >/dev/null 2>"$CACHE/run.log" ||
    reject_image "$name" "$name cannot import $module ($(tail -n1 "$CACHE/run.log")); fix: read $CACHE/run.log"
  log "$name built in $((SECONDS - started))s: $(image_size "$name")"
}

# docker_build NAME CONTEXT: the legacy builder (no buildx here); FROM images are local, nothing is pulled.
docker_build() {
  local name=$1 ctx=$2 old
  old=$(image_id "$name")
  DOCKER_BUILDKIT=0 docker build -q -t "$name" "$ctx" >/dev/null 2>"$CACHE/build.log" ||
    fail "docker build of $name failed ($(grep -v -e DEPRECATED -e BuildKit -e '^ *$' "$CACHE/build.log" | tail -n1)); fix: read $CACHE/build.log"
  if [[ -n $old && $old != "$(image_id "$name")" ]]; then
    docker rmi "$old" >/dev/null 2>&1 || true # still used by a container: leave it
  fi
}

# The UI: Node 20 and npm from this machine, ui/ with its locked node_modules (npm ci on the host:
# containers here have no route to the npm registry), the Dockerfile's WORKDIR and CMD.
build_app_ui_image() {
  local name=$APP_PROJECT-ui npm_dir stamp ctx started=$SECONDS
  npm_dir=$(readlink -f "$(command -v npm)") || fail "no npm on PATH for $name; fix: install Node 20 with npm"
  npm_dir=${npm_dir%/bin/npm-cli.js}
  [[ -f $npm_dir/package.json ]] || fail "cannot find npm's own directory (from $(command -v npm)); fix: install npm from Node's distribution"
  stamp=$(echo "recipe=$RECIPE_VERSION base=$(image_stamp nmia-drill/node:20) commit=$APP_COMMIT npm=$(npm --version)" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  log "building $name from ui/ at ${APP_COMMIT:0:12} (npm ci, cache $CACHE/npm)"
  ctx=$WORK/ctx-ui
  mkdir "$ctx"
  cp -a "$APP_DIR/ui" "$ctx/app"
  rm -rf "$ctx/app/node_modules"
  (cd "$ctx/app" && npm ci --no-audit --no-fund --cache "$CACHE/npm" >"$CACHE/npm-ci.log" 2>&1) ||
    fail "npm ci in the app's ui/ failed ($(tail -n1 "$CACHE/npm-ci.log")); fix: read $CACHE/npm-ci.log (the npm registry must be reachable)"
  cp -a "$npm_dir" "$ctx/npm"
  cat >"$ctx/Dockerfile" <<EOF
FROM nmia-drill/node:20
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY app/ ./
CMD ["npm", "run", "dev", "--", "--host"]
LABEL $STAMP_LABEL=$stamp $APP_LABEL=$APP_COMMIT
EOF
  docker_build "$name" "$ctx"
  docker run --rm "$name" sh -c 'npm --version && node_modules/.bin/vite --version' >/dev/null 2>"$CACHE/run.log" ||
    reject_image "$name" "$name cannot run npm and vite ($(tail -n1 "$CACHE/run.log")); fix: read $CACHE/run.log"
  log "$name built in $((SECONDS - started))s: $(image_size "$name")"
}

build_app_images() {
  local images="$APP_PROJECT-api, $APP_PROJECT-worker, $APP_PROJECT-collector, $APP_PROJECT-ui"
  if ! find_app_repo; then
    if [[ -n ${NMIA_DRILL_APP_REPO+set} ]]; then
      log "NMIA_DRILL_APP_REPO is empty: skipping $images"
    else
      log "no NMIA app repository (NMIA_DRILL_APP_REPO unset, none of ${APP_REPO_CANDIDATES[*]} found): skipping $images"
    fi
    return 0
  fi
  clone_app
  log "app repository $APP_REPO at $APP_COMMIT"
  build_app_python_base
  new_workdir
  build_app_python_image api api '["uvicorn", "nmia.main:app", "--host", "0.0.0.0", "--port", "8000"]' nmia.main
  # The worker imports the api's package too, which the compose file mounts at /api-src.
  build_app_python_image worker worker '["python", "-m", "nmia_worker.main"]' nmia_worker.main \
    -v "$APP_DIR/api/src:/api-src:ro" -e PYTHONPATH=/app/src:/api-src
  build_app_python_image collector collector-windows '["uvicorn", "nmia_collector.main:app", "--host", "0.0.0.0", "--port", "9000"]' nmia_collector.main
  build_app_ui_image
  rm -rf "$WORK" "$APP_DIR"
}

write_env() {
  local lines
  lines=$(printf 'export DOCKER_HOST=%s\nexport TESTCONTAINERS_RYUK_DISABLED=true\nexport TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1\n' "$DOCKER_URL")
  if [[ ! -f $ENV_FILE || $(<"$ENV_FILE") != "$lines" ]]; then
    printf '%s\n' "$lines" >"$ENV_FILE.new"
    mv "$ENV_FILE.new" "$ENV_FILE"
  fi
  log "done in $((SECONDS - START_S))s; environment written to $ENV_FILE (source it: . $ENV_FILE)"
  printf '%s\n' "$lines"
}

main() {
  preflight
  find_mirror
  ensure_packages docker.io debootstrap busybox-static git
  start_engine
  install_compose_v2
  build_postgres_image postgres:15 15 "$ROOTFS_TAR"
  build_postgres_image nmia-drill/postgres:17 17 "$PG17_ROOTFS_TAR"
  build_alpine_image
  build_node_image
  build_app_images
  write_env
}

main "$@"
