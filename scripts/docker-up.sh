#!/usr/bin/env bash
# Start a Docker engine that contains what it runs, unless one already answers, then make the
# local base images the tests and builds use. Needs no image registry.
#
# The engine (its daemon config is written to $DOCKERD_CONFIG):
# - a default bridge on 100.66.0.0/24 and per-project networks from the pool 100.67.0.0/16:
#   shared address space, never a private range (10/8, 172.16/12, 192.168/16);
# - iptables on, so Docker isolates one network from another, and no inter-container traffic
#   on the default bridge (`icc: false`), where build steps run;
# - no masquerading: container traffic never leaves this machine;
# - gVisor's runsc registered as a runtime when it is installed (`--network=host` makes gVisor
#   use the container's own network namespace);
# and, in iptables, a DOCKYARD-HOST chain on INPUT: traffic entering from a container bridge
# cannot open connections to the host itself (its loopback services are unreachable anyway;
# this also covers those bound to 0.0.0.0), and DOCKYARD-EGRESS in DOCKER-USER: no forwarded
# traffic from a container to a private, link-local, shared-address or loopback network.
set -euo pipefail

DOCKER=/usr/bin/docker           # Debian's CLI: has BuildKit built in
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
export DOCKER_HOST=${DOCKER_HOST:-unix://$SOCK}
LOG=${DOCKERD_LOG:-/var/log/dockyard-dockerd.log}
DOCKERD_CONFIG=${DOCKERD_CONFIG:-/etc/dockyard/dockerd.json}
BRIDGE_IP=100.66.0.1/24
POOL=100.67.0.0/16
# Where containers' traffic comes in: the default bridge, project networks, swarm's gwbridge.
# Matched by interface, not address: 100.64.0.0/10 is also used off the machine (e.g. VPNs).
CONTAINER_IFACES=(docker0 br-+ docker_gwbridge)
INTERNAL_NETS=(10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 100.64.0.0/10 127.0.0.0/8)

engine_answers() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

write_daemon_config() {
  mkdir -p "$(dirname "$DOCKERD_CONFIG")"
  local runtimes='{}'
  if [ -x /usr/bin/runsc ]; then
    runtimes='{"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host"]}}'
  fi
  cat >"$DOCKERD_CONFIG" <<EOF
{
  "bip": "$BRIDGE_IP",
  "default-address-pools": [{"base": "$POOL", "size": 24}],
  "icc": false,
  "iptables": true,
  "ip6tables": false,
  "ip-masq": false,
  "runtimes": $runtimes
}
EOF
}

start_dockerd() {
  echo "docker-up: starting dockerd (log: $LOG, config: $DOCKERD_CONFIG)" >&2
  mkdir -p "$(dirname "$LOG")"
  write_daemon_config
  nohup /usr/sbin/dockerd --host "unix://$SOCK" --config-file "$DOCKERD_CONFIG" >>"$LOG" 2>&1 &
  for _ in $(seq 1 60); do
    engine_answers && return 0
    sleep 0.5
  done
  echo "docker-up: dockerd did not answer within 30 s; last log lines:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

# A chain of our own, emptied and refilled, hooked once at the top of its parent.
reset_chain() {
  local parent=$1 chain=$2
  iptables -N "$chain" 2>/dev/null || iptables -F "$chain"
  iptables -C "$parent" -j "$chain" 2>/dev/null || iptables -I "$parent" 1 -j "$chain"
}

contain_containers() {
  if ! command -v iptables >/dev/null; then
    echo "docker-up: iptables is not installed: containers are not kept off the host" >&2
    return 1
  fi
  reset_chain INPUT DOCKYARD-HOST
  iptables -A DOCKYARD-HOST -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  for iface in "${CONTAINER_IFACES[@]}"; do
    iptables -A DOCKYARD-HOST -i "$iface" -j DROP
  done
  iptables -N DOCKER-USER 2>/dev/null || true
  reset_chain DOCKER-USER DOCKYARD-EGRESS
  iptables -A DOCKYARD-EGRESS -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  # Towards a container network Docker's own isolation rules decide.
  iptables -A DOCKYARD-EGRESS -o docker0 -j RETURN
  iptables -A DOCKYARD-EGRESS -o br-+ -j RETURN
  for iface in "${CONTAINER_IFACES[@]}"; do
    for net in "${INTERNAL_NETS[@]}"; do
      iptables -A DOCKYARD-EGRESS -i "$iface" -d "$net" -j DROP
    done
  done
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
if ! "$DOCKER" network inspect bridge >/dev/null 2>&1; then
  echo "docker-up: WARNING: this engine has no bridge network (started with --bridge=none?):" \
    "builds and jobs are not contained; stop it and run this script again" >&2
fi
contain_containers
make_busybox_image
echo "docker-up: engine $("$DOCKER" version --format '{{.Server.Version}}') ready at $DOCKER_HOST" >&2
