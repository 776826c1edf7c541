#!/usr/bin/env bash
# A real PostgreSQL (Debian's) on 127.0.0.1, on a private port and data directory, for the
# read model's tests and for trying `--read-model=postgres://...` by hand.
#
#   scripts/postgres.sh up      install the Debian package (once), initdb (once), start, wait until it answers
#   scripts/postgres.sh down    stop the server this script started
#   scripts/postgres.sh status  say whether it runs and where
#   scripts/postgres.sh url     print the connection URL (database `shop`, user `postgres`, trust auth on 127.0.0.1)
#   scripts/postgres.sh logs    print the server's log
#   scripts/postgres.sh reset   stop and delete its data
#
# Environment: PG_PORT (default 15432), PG_DATA (default ${TMPDIR:-/tmp}/shop-postgres-$PG_PORT).
# PostgreSQL refuses to run as root: when run as root, the server runs as the `postgres` user
# (the Debian package creates it), which is why the data directory is not under the checkout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${PG_PORT:-15432}
data=${PG_DATA:-${TMPDIR:-/tmp}/shop-postgres-$port}
logfile=$data/server.log

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }; done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

need_server() {
  bindir >/dev/null && return 0
  if command -v apt-get >/dev/null; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "postgres.sh: installing Debian's postgresql" >&2
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  bindir >/dev/null || die "PostgreSQL not found: install it (Debian: apt-get install -y postgresql)"
}

# Runs a PostgreSQL tool as the user that owns the data directory.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$data/postmaster.pid" ] && as_owner "$(bindir)/pg_ctl" status -D "$data" >/dev/null 2>&1; }

up() {
  need_server
  local bin
  bin=$(bindir)
  if running; then echo "postgres.sh: already running on 127.0.0.1:$port"; return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$data"
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_owner "$bin/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c max_connections=200" >/dev/null ||
    { cat "$logfile" >&2; die "the server did not start"; }
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'shop'" | grep -q 1 ||
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres shop
  echo "postgres.sh: PostgreSQL $(cat "$data/PG_VERSION") ready on 127.0.0.1:$port"
}

down() {
  if ! running; then echo "postgres.sh: not running on port $port"; return 0; fi
  as_owner "$(bindir)/pg_ctl" stop -D "$data" -m fast -w >/dev/null
  echo "postgres.sh: stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if running; then echo "postgres.sh: running on 127.0.0.1:$port ($data)"; else echo "postgres.sh: not running on port $port"; exit 3; fi ;;
  url) echo "postgres://postgres@127.0.0.1:$port/shop" ;;
  logs) cat "$logfile" 2>/dev/null ;;
  reset) down; rm -rf "$data" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
