#!/usr/bin/env bash
# The whole test suite: unit and business tests on the in-memory log, every Kafka claim against
# a real broker, and the read model and audit tables against a real PostgreSQL; this script starts
# both (and stops again what it started, pass or fail).
#   SHOP_TEST_BROKERS=host:port  use a running broker instead of starting one
#   SHOP_TEST_POSTGRES=URL       use a running PostgreSQL instead of starting one
#   extra arguments go to `bun test` (e.g. a path filter), and the Deno half is left out; without
#   them, the files deno.json lists run again under `deno test` (the same source on Deno)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --kafka --prometheus --deploy --deno --browser
# Kafka Connect and the JDBC sink for the audit tables' test (which starts its own worker).
bash scripts/connect.sh fetch

# Servers this script started, to stop again on exit (one already running is left alone).
started=()
ensure_up() {
  bash "scripts/$1.sh" status >/dev/null 2>&1 && return 0
  # A broker this script starts starts empty: the topics of earlier runs would pile up in its data
  # (one run leaves ~6,900 partitions), and on a broker holding ~17,700 the contract's
  # broker-restart case failed (README, Troubleshooting).
  if [ "$1" = kafka ]; then bash scripts/kafka.sh reset; fi
  bash "scripts/$1.sh" up
  started+=("$1")
}
stop_started() { for server in "${started[@]}"; do bash "scripts/$server.sh" down; done; }
trap stop_started EXIT

if [ -z "${SHOP_TEST_BROKERS:-}" ]; then
  export KAFKA_PORT=${KAFKA_PORT:-19092}
  ensure_up kafka
  export SHOP_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
fi
if [ -z "${SHOP_TEST_POSTGRES:-}" ]; then
  export PG_PORT=${PG_PORT:-15432}
  ensure_up postgres
  SHOP_TEST_POSTGRES=$(bash scripts/postgres.sh url)
  export SHOP_TEST_POSTGRES
fi

node_modules/.bin/tsc --noEmit -p .

# A failing test's error is printed where the test ran, far above the summary; when the suite fails,
# print each failure's error again at the end, where a CI log's tail shows it.
output=$(mktemp -t shop-test.XXXXXX)
# The stderr of every shop process the integration tests start, per test file, kept for this run alone.
SHOP_TEST_LOGS=$(mktemp -d -t shop-test-logs.XXXXXX)
export SHOP_TEST_LOGS
status=0
node_modules/.bin/bun test --timeout 60000 "$@" 2>&1 | tee "$output" || status=$?
bun_status=$status
# Bun's failures, printed again where a CI log's tail shows them: after Bun's summary, and once
# more after the Deno half when that runs.
recap() {
  echo
  echo "test.sh: Bun's summary, and the errors of its failed tests again (the whole output is in $output; each shop process's stderr in $SHOP_TEST_LOGS/<test file>/):"
  # Without its colours: the summary's lines, then, for each (fail) line, the last 60 lines since
  # the previous test's result.
  sed 's/\x1b\[[0-9;]*m//g' "$output" | awk '
    /^ *[0-9]+ (pass|fail|skip|todo)$|^Ran [0-9]+ tests/ {summary = summary $0 "\n"}
    /^\((pass|skip|todo)\) / {n = 0; next}
    /^\(fail\) / {s = (n > 60 ? n - 60 : 0); for (i = s + 1; i <= n; i++) failures = failures buf[i] "\n"; failures = failures $0 "\n----\n"; n = 0; next}
    {buf[++n] = $0}
    END {printf "%s%s", summary, failures}'
}
if [ "$bun_status" -ne 0 ]; then recap; fi
if [ $# -eq 0 ]; then
  echo
  echo "test.sh: the same source on Deno ($(.cache/deno/node_modules/.bin/deno --version | head -1)): the files deno.json lists"
  # Deno prints its failures again in an ERRORS section at the end.
  NO_COLOR=1 SHOP_TEST_TIMEOUT_MS=60000 .cache/deno/node_modules/.bin/deno test --allow-all --no-check || status=$?
  if [ "$bun_status" -ne 0 ]; then recap; fi
fi
exit "$status"
