#!/usr/bin/env bash
# The whole test suite: unit and business tests on the in-memory log, and every Kafka claim
# against a real broker that this script starts (and stops again, pass or fail).
#   SHOP_TEST_BROKERS=host:port  use a running broker instead of starting one
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
stop_kafka() { [ -z "$started" ] || bash scripts/kafka.sh down; }
trap stop_kafka EXIT

node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/bun test --timeout 60000 "$@"
