#!/usr/bin/env bash
# Stops the private dockerd that .ci/provision-docker.sh started, found by its own pidfile.
# Removes nothing: images, volumes, the data root and the cached root fs stay for the next run.
set -euo pipefail

readonly PIDFILE=/run/nmia-drill-docker.pid
readonly SOCK=/run/nmia-drill-docker.sock
# dockerd gives running containers 15 s to stop before it kills them.
readonly STOP_TIMEOUT_S=60

fail() { printf 'stop-docker: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "must run as root (uid is $(id -u)); fix: sudo $0"
if [[ ! -s $PIDFILE ]]; then
  echo "stop-docker: no $PIDFILE; the private dockerd is not running"
  exit 0
fi
pid=$(<"$PIDFILE")
[[ $pid =~ ^[0-9]+$ ]] || fail "$PIDFILE does not hold a pid ('$pid'); fix: check no dockerd uses it, then delete it"
# Only ours: the pid must be a dockerd serving our socket, not a recycled pid.
if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != dockerd ]] || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "unix://$SOCK"; then
  echo "stop-docker: pid $pid in $PIDFILE is not our dockerd (already stopped); nothing to stop"
  exit 0
fi

kill -TERM "$pid"
deadline=$((SECONDS + STOP_TIMEOUT_S))
while kill -0 "$pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "dockerd $pid still running ${STOP_TIMEOUT_S}s after SIGTERM; fix: read /var/log/nmia-drill-docker.log, then kill -KILL $pid"
  sleep 0.5
done
echo "stop-docker: dockerd $pid stopped"
