#!/usr/bin/env bash
# Make the Docker engine a single-node swarm manager for DOCKYARD_RUN_ENGINE=swarm, unless it
# is one already. Every swarm address stays out of the private ranges: the gateway bridge is
# created first on 100.65.0.0/16 (swarm init would pick a private subnet for it), and overlay
# networks come from 100.64.0.0/16. Job services use the host network, so no overlay or
# ingress traffic is needed. Needs a running engine (scripts/docker-up.sh).
set -euo pipefail

DOCKER=/usr/bin/docker           # Debian's CLI, as scripts/docker-up.sh uses
GWBRIDGE=docker_gwbridge
GWBRIDGE_SUBNET=100.65.0.0/16
ADDRESS_POOL=100.64.0.0/16

fail() {
  echo "swarm-up: $*" >&2
  exit 1
}

swarm_state() { "$DOCKER" info --format '{{.Swarm.LocalNodeState}}'; }
is_manager() { [ "$("$DOCKER" info --format '{{.Swarm.ControlAvailable}}')" = true ]; }

gwbridge_subnet() {
  "$DOCKER" network inspect "$GWBRIDGE" --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' \
    2>/dev/null
}

ensure_gwbridge() {
  local subnet
  subnet=$(gwbridge_subnet) || subnet=""
  if [ -z "$subnet" ]; then
    "$DOCKER" network create --subnet "$GWBRIDGE_SUBNET" \
      --opt com.docker.network.bridge.name=docker_gwbridge \
      --opt com.docker.network.bridge.enable_icc=false \
      --opt com.docker.network.bridge.enable_ip_masquerade=false \
      "$GWBRIDGE" >/dev/null
    echo "swarm-up: created $GWBRIDGE on $GWBRIDGE_SUBNET" >&2
  elif [ "$subnet" != "$GWBRIDGE_SUBNET" ]; then
    fail "$GWBRIDGE exists on $subnet, not $GWBRIDGE_SUBNET; remove it first"
  fi
}

"$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  fail "no Docker engine answers; start one with scripts/docker-up.sh"

case "$(swarm_state)" in
  active)
    is_manager || fail "this engine is in a swarm but not a manager of it"
    ;;
  inactive)
    ensure_gwbridge
    "$DOCKER" swarm init --advertise-addr 127.0.0.1 --default-addr-pool "$ADDRESS_POOL" \
      >/dev/null
    echo "swarm-up: initialised a single-node swarm (address pool $ADDRESS_POOL)" >&2
    ;;
  *)
    fail "the engine's swarm state is '$(swarm_state)'; expected active or inactive"
    ;;
esac
echo "swarm-up: this engine is a swarm manager" >&2
