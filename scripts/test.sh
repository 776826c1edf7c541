#!/usr/bin/env bash
# The whole test suite: unit and business tests on the in-memory log, every Kafka claim against
# a real broker, and the read model against a real PostgreSQL; this script starts both (and stops
# again what it started, pass or fail).
#   SHOP_TEST_BROKERS=host:port  use a running broker instead of starting one
#   SHOP_TEST_POSTGRES=URL       use a running PostgreSQL instead of starting one
#   extra arguments go to `bun test` (e.g. a path filter)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --kafka

started=""
if [ -z "${SHOP_TEST_BROKERS:-}" ]; then
  export KAFKA_PORT=${KAFKA_PORT:-19092}
  if ! bash scripts/kafka.sh status >/dev/null 2>&1; then
    bash scripts/kafka.sh up
    started=yes
  fi
  export SHOP_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
fi
pg_started=""
if [ -z "${SHOP_TEST_POSTGRES:-}" ]; then
  export PG_PORT=${PG_PORT:-15432}
  if ! bash scripts/postgres.sh status >/dev/null 2>&1; then
    bash scripts/postgres.sh up
    pg_started=yes
  fi
  export SHOP_TEST_POSTGRES=$(bash scripts/postgres.sh url)
fi
stop_servers() {
  [ -z "$started" ] || bash scripts/kafka.sh down
  [ -z "$pg_started" ] || bash scripts/postgres.sh down
}
trap stop_servers EXIT

node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/bun test --timeout 60000 "$@"
