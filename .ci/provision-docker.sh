#!/usr/bin/env bash
# Gives this machine (or a CI runner of the same kind) a private Docker engine, the Compose v2
# plugin and locally built images, with no image registry reachable. Idempotent: a second run
# only checks that everything is in place. Run as root. Network: only the Debian mirror that
# apt already uses.
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
# One root fs carries both postgres:15 and nmia-drill/node:20 (node needs only libc/libstdc++).
readonly ROOTFS_TAR=$CACHE/rootfs-$IMAGE_SUITE-minbase-postgresql-15.tar
readonly STAMP_LABEL=org.nmia-drill.inputs
# Bump when the way an image is assembled changes, so existing images get rebuilt.
readonly RECIPE_VERSION=4
# The fixture LDAP directory (compose service `directory`) runs slapd next to node: slapd and the
# libraries the minbase root fs lacks, unpacked without maintainer scripts (no system instance).
readonly SLAPD_DEBS=(slapd libltdl7 libwrap0 libnsl2 libtirpc3 libtirpc-common)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly IMAGES_DIR=$HERE/../fixtures/stack/images
readonly PG_ENTRYPOINT=$IMAGES_DIR/postgres/docker-entrypoint.sh

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

ensure_rootfs() {
  [[ -s $ROOTFS_TAR ]] && return 0
  check_space
  local root
  root=$(mktemp -d /var/tmp/nmia-drill-rootfs.XXXXXX)
  CLEANUP+=("remove_tree '$root'")
  log "debootstrap --variant=minbase --include=postgresql-15 $IMAGE_SUITE from $MIRROR (log: $CACHE/debootstrap.log)"
  if ! debootstrap --variant=minbase --include=postgresql-15 "$IMAGE_SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap.log" >&2 || true
    fail "debootstrap of $IMAGE_SUITE failed; fix: read $CACHE/debootstrap.log (tail above)"
  fi
  # Debian's package creates a 'main' cluster; the official image has none (PGDATA starts empty).
  rm -rf "$root/etc/postgresql/15/main" "$root/var/lib/postgresql/15" "$root/var/cache/apt/archives/"*.deb \
    "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
  chmod 755 "$root" # mktemp made it 0700, and tar records that as the mode of /
  tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$ROOTFS_TAR.new" .
  mv "$ROOTFS_TAR.new" "$ROOTFS_TAR"
  remove_tree "$root"
  log "cached root fs: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
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
  './usr/share/lintian/*' './usr/lib/postgresql/15/lib/bitcode' './usr/lib/postgresql/15/lib/llvmjit*'
  './usr/lib/x86_64-linux-gnu/libLLVM-*' './usr/lib/x86_64-linux-gnu/libz3.so*'
)
# The node image has no use for the server or perl's full library (perl-base stays).
readonly NODE_EXCLUDES=(
  './usr/lib/postgresql' './usr/share/postgresql' './usr/share/postgresql-common' './etc/postgresql'
  './etc/postgresql-common' './var/lib/postgresql' './usr/share/perl/*' './usr/lib/x86_64-linux-gnu/perl/*'
  './usr/lib/x86_64-linux-gnu/libicu*'
)

# The .deb files of SLAPD_DEBS for this machine's suite, cached; prints their paths.
ensure_slapd_debs() {
  local dir=$CACHE/debs-$IMAGE_SUITE pkg missing=()
  mkdir -p "$dir"
  for pkg in "${SLAPD_DEBS[@]}"; do
    compgen -G "$dir/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "fetching ${missing[*]} (.deb only, for the node image)"
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
  for pkg in "${SLAPD_DEBS[@]}"; do ls "$dir/${pkg}_"*.deb | tail -n1; done
}

# Writes $WORK/rootfs.tar from the cached root fs minus trims and the given --exclude patterns,
# plus file $1 at path $2, plus the contents of the .deb files in EXTRA_DEBS (no maintainer scripts).
EXTRA_DEBS=()
assemble_rootfs() {
  local src=$1 dest=$2 pattern deb
  shift 2
  local excludes=()
  for pattern in "${TRIM_EXCLUDES[@]}" "$@"; do excludes+=("--exclude=$pattern"); done
  mkdir "$WORK/root"
  tar --numeric-owner -xpf "$ROOTFS_TAR" -C "$WORK/root" "${excludes[@]}"
  # --keep-directory-symlink: the merged-/usr links (/lib → usr/lib, …) must stay links.
  for deb in "${EXTRA_DEBS[@]}"; do
    dpkg-deb --fsys-tarfile "$deb" | tar --numeric-owner --keep-directory-symlink -xpf - -C "$WORK/root" ||
      fail "cannot unpack $deb; fix: delete it and re-run"
  done
  rm -rf "$WORK/root/usr/share/man" && mkdir -p "$WORK/root/usr/share/man"
  chmod 755 "$WORK/root" # / must be traversable by the postgres user
  find "$WORK/root/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
  find "$WORK/root/usr/share/doc" -mindepth 1 -type d -empty -delete
  mkdir -p "$WORK/root/$(dirname "$dest")"
  cp "$src" "$WORK/root/$dest"
  chown 0:0 "$WORK/root/$dest"
  chmod 755 "$WORK/root/$dest"
  tar --numeric-owner -C "$WORK/root" -cf "$WORK/rootfs.tar" .
  remove_tree "$WORK/root"
}

readonly STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

build_postgres_image() {
  local name=postgres:15 base=nmia-drill/postgres-rootfs:15 stamp old out
  stamp=$(cat <(echo "recipe=$RECIPE_VERSION rootfs=$(basename "$ROOTFS_TAR")") "$PG_ENTRYPOINT" | sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  ensure_rootfs
  log "building $name"
  new_workdir
  assemble_rootfs "$PG_ENTRYPOINT" usr/local/bin/docker-entrypoint.sh
  import_image "$base" "$WORK/rootfs.tar" \
    -c "ENV PATH=/usr/lib/postgresql/15/bin:$STD_PATH" \
    -c 'ENV PG_MAJOR=15' \
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
  log "$name built: $out"
}

build_node_image() {
  local name=nmia-drill/node:20 node stamp out debs
  node=$(command -v node) || fail "no node on PATH to copy into $name; fix: install Node 20"
  node=$(readlink -f "$node")
  debs=$(ensure_slapd_debs)
  stamp=$(echo "recipe=$RECIPE_VERSION rootfs=$(basename "$ROOTFS_TAR") node=$("$node" --version) $(stat -c '%s %Y' "$node") debs=$(basename -a $debs | tr '\n' ' ')" |
    sha256sum | cut -c1-16)
  needs_build "$name" "$stamp" || return 0
  ensure_rootfs
  log "building $name with $node ($("$node" --version)) and slapd"
  new_workdir
  mapfile -t EXTRA_DEBS <<<"$debs"
  assemble_rootfs "$node" usr/local/bin/node "${NODE_EXCLUDES[@]}"
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
  ensure_packages docker.io debootstrap busybox-static
  start_engine
  install_compose_v2
  build_postgres_image
  build_alpine_image
  build_node_image
  write_env
}

main "$@"
