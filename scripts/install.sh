#!/usr/bin/env bash
# Install what dockyard needs on a Debian machine, idempotently: system packages (apt) and a
# virtualenv with dockyard and its test tools. `scripts/install.sh test` adds PostgreSQL, and
# node with the official JS client for tests/conformance/js.
set -euo pipefail
cd "$(dirname "$0")/.."

# buildah: the daemonless engine of `buildEngine: "kaniko"` builds (engine/buildah.py).
# openssh-client: ssh and ssh-keyscan, which fetch through ssh VCS links (deploy keys).
# postgresql-client: pg_dump and pg_restore, for `dockyard backup` and `restore` on PostgreSQL.
PACKAGES=(docker.io docker-registry buildah git busybox-static ca-certificates iptables runsc openssh-client postgresql-client)
# chromium: Debian's headless browser, which the dashboard's browser tests (tests/ui) drive
# through Playwright (Playwright's own browser downloads are not used). faketime, gcc and
# libc6-dev: the clock-step faults (tests/faults/clock.py) preload libfaketime, with a small
# fix of theirs compiled at test time. openssh-server: the ssh git server of the ssh VCS link
# tests (tests/sshd.py runs its sshd on 127.0.0.1; no system service is needed).
[ "${1:-}" = "test" ] && PACKAGES+=(postgresql tmux chromium fonts-dejavu-core faketime gcc libc6-dev openssh-server)
# @northflank/js-client needs node >= 18: Debian 12's nodejs is 18.20. A node already on PATH
# (e.g. from NodeSource, which bundles npm) is kept.
if [ "${1:-}" = "test" ]; then
  command -v node >/dev/null || PACKAGES+=(nodejs)
  command -v npm >/dev/null || PACKAGES+=(npm)
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt-get install ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The registry runs under dockyard's control; Debian's package also starts one on :5000
# where systemd exists. Leave it be if it runs: dockyard uses whatever answers there.

# The dashboard's htmx, from its pinned npm tarball (checked against its integrity hash).
python3 scripts/vendor-ui.py

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.dockyard-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "install: pip install -e .[test] into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi

# The JS client and the CLI pinned by tests/conformance/js/package-lock.json; `npm ci` replaces
# node_modules, so the stamp inside it goes whenever the modules are reinstalled.
js=tests/conformance/js
stamp=$js/node_modules/.dockyard-installed
if [ "${1:-}" = "test" ] && { [ ! -f "$stamp" ] || [ $js/package-lock.json -nt "$stamp" ]; }; then
  echo "install: npm ci in $js" >&2
  npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
