#!/usr/bin/env bash
# Apache Kafka Connect (one distributed worker) with the Debezium JDBC sink, from Maven Central,
# on 127.0.0.1: the audit tables' pipeline (shop's audit.* topics -> PostgreSQL), without Docker.
#
#   scripts/connect.sh fetch    fetch the worker's jars and the connector's plugin (once)
#   scripts/connect.sh up       fetch, start the worker, wait until its REST API lists the JDBC sink
#   scripts/connect.sh down     stop the worker this script started (by its pid)
#   scripts/connect.sh kill     kill -9 the worker (its state is in the broker: `up` resumes it)
#   scripts/connect.sh status   say whether it runs and where
#   scripts/connect.sh logs     print the worker's log
#   scripts/connect.sh reset    stop it and delete its run directory (its state lives in the broker's
#                               _connect-* topics: use a new CONNECT_GROUP, or reset the broker)
#   (start and stop are up and down)
#
# Environment: CONNECT_PORT (REST API, default 8083), CONNECT_BROKERS (default
# 127.0.0.1:${KAFKA_PORT:-9092}), CONNECT_GROUP (the worker group, and the prefix of its config,
# offset and status topics; default shop-connect), CONNECT_CACHE (default <repo>/.cache/connect),
# CONNECT_HEAP (default 512M).
#
# The connector itself is registered over the REST API with deploy/connect/audit-sink.json:
#   curl -X PUT -H 'Content-Type: application/json' --data @<(jq .config deploy/connect/audit-sink.json) \
#     http://127.0.0.1:8083/connectors/shop-audit/config
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
pom=$here/connect/pom.xml
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
debezium=$(sed -n 's:.*<debezium.version>\(.*\)</debezium.version>.*:\1:p' "$pom")
port=${CONNECT_PORT:-8083}
brokers=${CONNECT_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}
group=${CONNECT_GROUP:-shop-connect}
cache=${CONNECT_CACHE:-$repo/.cache/connect}
home=$cache/$version-$debezium
lib=$home/lib
plugins=$home/plugins
run=$cache/run-$port
pidfile=$run/worker.pid
logfile=$run/worker.log

die() { echo "connect.sh: $*" >&2; exit 1; }
# shellcheck source=pidfile.sh
. "$here/pidfile.sh"

fetch() {
  [ -f "$home/.complete" ] && return 0
  command -v java >/dev/null || die "java not found: install a JDK 17 or newer (Debian: apt-get install -y openjdk-17-jdk-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install -y maven)"
  echo "connect.sh: fetching Kafka Connect $version and the Debezium JDBC sink $debezium from Maven Central into $home"
  rm -rf "$home" && mkdir -p "$lib" "$plugins"
  local out
  out=$(mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" 2>&1) ||
    { echo "$out" >&2; die "maven could not fetch the worker's jars (output above)"; }
  out=$(mvn -q -B -f "$pom" dependency:unpack-dependencies -DincludeArtifactIds=debezium-connector-jdbc -DincludeScope=provided -DoutputDirectory="$plugins" \
    -DmarkersDirectory="$home/.markers" 2>&1) ||
    { echo "$out" >&2; die "maven could not fetch the connector's plugin archive (output above)"; }
  touch "$home/.complete"
}


answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

write_config() {
  mkdir -p "$run"
  cat >"$run/worker.properties" <<PROPS
bootstrap.servers=$brokers
group.id=$group
listeners=http://127.0.0.1:$port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$port
plugin.path=$plugins
# Where the worker keeps connector configs, sink offsets and task status: topics of the broker.
config.storage.topic=_$group-configs
offset.storage.topic=_$group-offsets
status.storage.topic=_$group-status
config.storage.replication.factor=${CONNECT_REPLICATION:-1}
offset.storage.replication.factor=${CONNECT_REPLICATION:-1}
status.storage.replication.factor=${CONNECT_REPLICATION:-1}
# The connector reads only committed records: shop writes every topic in transactions.
consumer.isolation.level=read_committed
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
header.converter=org.apache.kafka.connect.storage.StringConverter
offset.flush.interval.ms=1000
# Secrets stay out of connector configs (which the REST API shows): `\${env:NAME}` reads the worker's environment.
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
PROPS
  cat >"$run/log4j2.properties" <<PROPS
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $logfile
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.connect.name = org.apache.kafka.connect.runtime
logger.connect.level = INFO
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
PROPS
}

up() {
  if running; then echo "connect.sh: already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; return 0; fi
  answers && die "port $port is taken by another process; set CONNECT_PORT to another port"
  fetch
  write_config
  : >"$logfile"
  setsid java -Xms128m -Xmx"${CONNECT_HEAP:-512M}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$run/log4j2.properties" \
    -cp "$lib/*" org.apache.kafka.connect.cli.ConnectDistributed "$run/worker.properties" >"$run/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  serving() { answers && curl -fsS "http://127.0.0.1:$port/connector-plugins" 2>/dev/null | grep -q JdbcSinkConnector; }
  await_ready 120 "the worker" serving
  echo "connect.sh: Kafka Connect $version ready on http://127.0.0.1:$port (brokers $brokers, group $group, pid $(cat "$pidfile"))"
}


case "${1:-}" in
  fetch) fetch ;;
  up | start) up ;;
  down | stop) stop_server connect.sh ;;
  kill) kill_server connect.sh ;;
  status) if running; then echo "connect.sh: running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; else echo "connect.sh: not running on port $port"; exit 3; fi ;;
  logs) cat "$run/stdout.log" "$logfile" 2>/dev/null ;;
  reset) stop_server connect.sh; rm -rf "$run" ;;
  *) echo "usage: scripts/connect.sh fetch|up|down|kill|status|logs|reset" >&2; exit 2 ;;
esac
