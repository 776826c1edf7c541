#!/usr/bin/env bash
# Installs what shop needs on a fresh machine; safe to run again (it skips what is there).
#   scripts/setup.sh          npm packages (Bun itself is one: node_modules/.bin/bun)
#   scripts/setup.sh --kafka  also Java and Maven (Debian packages) for the local Kafka broker
#   scripts/setup.sh --prometheus  also Prometheus and promtool (Debian), for the alert and dashboard tests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "setup: $*" >&2; }

apt_install() {
  if ! command -v apt-get >/dev/null; then
    say "missing $*; install them with your package manager"; exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: $*"
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v npm >/dev/null || apt_install nodejs npm

# Reinstall when the lockfile changed since the last install.
stamp=node_modules/.shop-installed
if [ ! -x node_modules/.bin/bun ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  # npm ci runs the postinstall hook: patch-package applies patches/*.patch (pinned to the exact
  # package version) and fails the install if one no longer applies.
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

missing=()
for option in "$@"; do
  case "$option" in
    --kafka)
      command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
      command -v mvn >/dev/null || missing+=(maven) ;;
    --prometheus)
      command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus) ;;
    *) say "unknown option $option"; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
