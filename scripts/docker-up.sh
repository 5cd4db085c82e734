#!/usr/bin/env bash
# Start a Docker engine safely on this kind of machine (no bridge, no iptables:
# containers get loopback only) unless one already answers, then make the local
# base images the tests and builds use. Needs no image registry.
set -euo pipefail

DOCKER=/usr/bin/docker           # Debian's CLI: has BuildKit built in
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
export DOCKER_HOST=${DOCKER_HOST:-unix://$SOCK}
LOG=${DOCKERD_LOG:-/var/log/dockyard-dockerd.log}

engine_answers() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_dockerd() {
  echo "docker-up: starting dockerd (log: $LOG)" >&2
  mkdir -p "$(dirname "$LOG")"
  nohup /usr/sbin/dockerd --host "unix://$SOCK" --bridge=none --iptables=false \
    --ip6tables=false >>"$LOG" 2>&1 &
  for _ in $(seq 1 60); do
    engine_answers && return 0
    sleep 0.5
  done
  echo "docker-up: dockerd did not answer within 30 s; last log lines:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# local/busybox:1 — a static busybox with its applets linked, imported from a dir.
make_busybox_image() {
  image_exists local/busybox:1 && return 0
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | "$DOCKER" import \
    --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - local/busybox:1 >/dev/null
  rm -rf "$root"
  echo "docker-up: created image local/busybox:1" >&2
}

engine_answers || start_dockerd
make_busybox_image
echo "docker-up: engine $("$DOCKER" version --format '{{.Server.Version}}') ready at $DOCKER_HOST" >&2
