#!/usr/bin/env bash
# Tries the README's two commands as a new user would: on a freshly bootstrapped Debian 12 root
# (debootstrap, nothing added), entered with chroot, with this checkout's HEAD copied in.
#
#   scripts/fresh-debian.sh run      ./make.sh run; waits for its URL, checks /health and runs a
#                                    Python hello world through it, stops it, prints the times
#   scripts/fresh-debian.sh test [MAKE ARGS]   ./make.sh test (PYTEST_ARGS, if set, is passed on;
#                                    e.g. `test -o lint` runs the suite without the lint step)
#   scripts/fresh-debian.sh shell [BASH ARGS]   bash in the root's checkout (e.g. -c 'make run')
#
# Options (before the target):
#   --dir DIR        where the roots live (default /var/tmp/cexec-fresh-debian)
#   --variant NAME   debootstrap variant: default (what `debootstrap bookworm DIR` gives) or minbase
#   --keep           leave the root (DIR/root) behind; with --reuse, the next call enters it again
#   --reuse          enter the root left by --keep instead of a fresh copy of the base
#
# Run as root on the host. The bootstrapped base is cached in DIR/base-VARIANT (nothing is ever
# installed into it); every call starts from a fresh copy. Only this machine's network settings
# go in: its apt sources and proxy settings, its local CA certificates (HTTPS through an
# intercepting proxy), its pip configuration, PIP_* and *_proxy variables, and read-only binds of
# the local package directories that pip configuration names. Nothing cexec needs is added.
# The root shares the host's kernel, network, /proc, /sys (cgroups) and /dev.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR=/var/tmp/cexec-fresh-debian
VARIANT=default
KEEP=0
REUSE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --variant) VARIANT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --reuse) REUSE=1; KEEP=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
TARGET="${1:-}"
[ $# -gt 0 ] && shift
case "$TARGET" in run|test|shell) ;; *) echo "usage: $0 [options] run|test|shell" >&2; exit 2 ;; esac
case "$VARIANT" in default|minbase) ;; *) echo "variant: default or minbase" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then echo "fresh-debian.sh must run as root" >&2; exit 1; fi

BASE="$DIR/base-$VARIANT"
ROOT="$DIR/root"
LOG="$DIR/$TARGET.log"
mkdir -p "$DIR"
say() { printf '[fresh-debian %s] %s\n' "$(date +%T)" "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The main archive of this machine's apt sources (deb822 or one-line format).
mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

mounts_under() { findmnt -rn -o TARGET | grep -E "^$1(/|$)" | sort -r || true; }

# Processes whose root is the chroot: the ones this script started there, and their children.
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
  done
  return 0
}

stop_chroot_processes() {
  local pids i
  pids=$(chroot_pids)
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 1 40); do
    pids=$(chroot_pids)
    [ -z "$pids" ] && return 0
    sleep 0.5
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  sleep 1
}

unmount_root() {
  local m
  for m in $(mounts_under "$ROOT"); do umount "$m" 2>/dev/null || umount -l "$m"; done
}

remove_root() {
  [ -e "$ROOT" ] || return 0
  unmount_root
  if [ -n "$(mounts_under "$ROOT")" ]; then
    echo "fresh-debian.sh: $ROOT still has mounts; not removing it" >&2
    return 1
  fi
  rm -rf --one-file-system "$ROOT"
}

cleanup() {
  stop_chroot_processes
  unmount_root
  if [ "$KEEP" = 1 ]; then say "root kept in $ROOT"; else remove_root; fi
}

# 1. The base system, bootstrapped once per variant.
if [ ! -f "$BASE/.cexec-base" ]; then
  command -v debootstrap >/dev/null 2>&1 || {
    say "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  rm -rf --one-file-system "$BASE.tmp"
  args=(bookworm "$BASE.tmp" "$(mirror)")
  [ "$VARIANT" = minbase ] && args=(--variant=minbase "${args[@]}")
  say "debootstrap ${args[*]}"
  started=$(now)
  debootstrap "${args[@]}" > "$DIR/debootstrap.log" 2>&1 || {
    tail -20 "$DIR/debootstrap.log" >&2
    exit 1
  }
  touch "$BASE.tmp/.cexec-base"
  mv "$BASE.tmp" "$BASE"
  say "base bootstrapped in $(since "$started") s"
fi

# 2. A fresh copy of it (or the kept one), with this machine's network settings.
trap cleanup EXIT
if [ "$REUSE" = 1 ] && [ -d "$ROOT" ]; then
  say "reusing $ROOT"
else
  remove_root
  cp -a "$BASE" "$ROOT"
  cp /etc/resolv.conf /etc/hosts "$ROOT/etc/"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/"
    rm -f "$ROOT/etc/apt/sources.list"
  elif [ -f /etc/apt/sources.list ]; then
    cp /etc/apt/sources.list "$ROOT/etc/apt/"
  fi
  for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do  # proxies, snapshot validity
    [ -f "$f" ] && grep -qE '^[[:space:]]*Acquire' "$f" && cp "$f" "$ROOT$f"
  done
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    # ca-certificates, when installed, adds them to the bundle; if the base has it already:
    chroot "$ROOT" /bin/sh -c 'command -v update-ca-certificates >/dev/null && update-ca-certificates >/dev/null' || true
  fi
  for f in /etc/pip.conf /etc/xdg/pip/* "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
    [ -f "$f" ] || continue
    dest="$ROOT${f/#$HOME//root}"
    mkdir -p "$(dirname "$dest")"
    cp "$f" "$dest"
  done
  mkdir -p "$ROOT/root/cexec"
  git -C "$REPO" archive --format=tar HEAD | tar -x -C "$ROOT/root/cexec"
  say "fresh root in $ROOT with $(git -C "$REPO" rev-parse --short HEAD) of $REPO (committed files only)"
fi

# 3. The root as a mount point of its own (as a booted system's / is: `unshare --mount`, which the
# tests use, cannot change the propagation of a root that is a plain directory), the kernel's
# file systems, and the local package directories pip is told to use.
mount --bind "$ROOT" "$ROOT"
mount --make-rslave "$ROOT"
mount -t proc proc "$ROOT/proc"
for fs in sys dev; do
  mount --rbind "/$fs" "$ROOT/$fs"
  mount --make-rslave "$ROOT/$fs"  # unmounting here must never unmount anything on the host
done
pip_dirs=$(
  { cat /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" 2>/dev/null
    env | grep '^PIP_' || true; } | grep -oE '(file://)?/[^ ,"'\'']+' | sed 's|^file://||' | sort -u
)
for d in $pip_dirs; do
  case "$d" in /etc/*|/usr/*|/proc/*|/sys/*|/dev/*|/root/*) continue ;; esac
  while [ ! -d "$d" ] && [ "$d" != / ]; do d=$(dirname "$d"); done
  [ "$d" = / ] && continue
  # A PEP 503 index links its files relative to itself (../../files/...): bind what holds it.
  [ "$(basename "$d")" = simple ] && d=$(dirname "$d")
  mountpoint -q "$ROOT$d" && continue
  mkdir -p "$ROOT$d"
  mount --bind -o ro "$d" "$ROOT$d"
  mount --make-rslave "$ROOT$d"
done

# A login-like environment: nothing from this shell but network and pip settings.
envs=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
  "TERM=${TERM:-dumb}")
while IFS= read -r line; do envs+=("$line"); done < <(
  env | grep -E '^(PIP_[A-Z_]+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|PORT|PYTEST_ARGS|CEXEC_TEST_TIMEOUT_FACTOR)=' || true
)
in_root() { chroot "$ROOT" /usr/bin/env -i "${envs[@]}" "$@"; }

case "$TARGET" in
  shell)
    in_root /bin/bash -c 'cd /root/cexec && exec bash "$@"' bash "$@"
    ;;
  test)
    say "./make.sh test $* (log: $LOG)"
    started=$(now)
    set +e
    in_root /bin/sh -c 'cd /root/cexec && exec ./make.sh test "$@"' sh "$@" 2>&1 | tee "$LOG"
    rc=${PIPESTATUS[0]}
    set -e
    say "./make.sh test $* exited $rc after $(since "$started") s"
    grep -E '^=+ .*(passed|failed|error).* in ' "$LOG" | tail -1 || true
    exit "$rc"
    ;;
  run)
    say "./make.sh run (log: $LOG)"
    : > "$LOG"
    started=$(now)
    setsid chroot "$ROOT" /usr/bin/env -i "${envs[@]}" /bin/sh -c 'cd /root/cexec && exec ./make.sh run' > "$LOG" 2>&1 &
    runner=$!
    until grep -q 'cexec is running at' "$LOG"; do
      if ! kill -0 "$runner" 2>/dev/null; then tail -30 "$LOG" >&2; say "make run exited before its URL"; exit 1; fi
      sleep 0.2
    done
    to_url=$(since "$started")
    url=$(grep -o 'cexec is running at http://[^ ]*' "$LOG" | awk '{print $NF}')
    key=$(awk '/API key:/ { print $NF }' "$LOG")
    say "URL $url after $to_url s"
    health=$(in_root /root/cexec/.venv/bin/python -c 'import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=5) as r: print(r.status, r.read().decode())' "$url")
    say "GET /health: $health"
    printf 'print("Hello from a fresh Debian")\n' > "$ROOT/tmp/hello.py"
    hello_started=$(now)
    out=$(in_root /bin/sh -c 'cd /root/cexec && CEXEC_URL="$1" CEXEC_API_KEY="$2" .venv/bin/python examples/client.py /tmp/hello.py </dev/null 2>&1' sh "$url" "$key")
    say "hello world in $(since "$hello_started") s: $(echo "$out" | tr '\n' ' ')"
    ok=1
    [[ "$health" == 200* ]] || ok=0
    grep -q '^Hello from a fresh Debian$' <<<"$out" || ok=0
    grep -q '"status": "ok"' <<<"$out" || ok=0
    # Debian's own Redis must not be running in the root (install.sh keeps its service down).
    for p in $(chroot_pids); do
      if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q 'redis-server.*:6379'; then
        say "Debian's redis-server service runs in the root: $(tr '\0' ' ' < "/proc/$p/cmdline")"
        ok=0
      fi
    done
    kill -TERM -- "-$runner" 2>/dev/null || true  # make and run.py; run.py stops the rest in order
    for _ in $(seq 1 60); do [ -z "$(chroot_pids)" ] && break; sleep 0.5; done
    tail -4 "$LOG"
    if [ "$ok" = 1 ]; then say "run: OK (URL after $to_url s)"; else say "run: FAILED"; exit 1; fi
    ;;
esac
