#!/bin/sh
# The README's two commands on a bare Debian 12 (`./make.sh run`, `./make.sh test`): make is not
# part of Debian's base system, so install it first (as root, with apt-get), then run make with
# the same arguments. Where make is installed, `make run` and `make test` are the same thing.
set -eu
cd "$(dirname "$0")"
if ! command -v make >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "make.sh: make is not installed; run this as root (it installs make, then everything" \
      "else with scripts/install.sh), or install make yourself" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "make.sh: make is not installed and there is no apt-get; cexec targets Debian 12" >&2
    exit 1
  fi
  echo "make.sh: installing make"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends make >/dev/null
fi
exec make "$@"
