#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on 127.0.0.1, from Kafka's own jars on Maven Central.
#
#   scripts/kafka.sh up       fetch jars (once), format storage (once), start, wait until it answers
#   scripts/kafka.sh down     stop the broker this script started (by its pid)
#   scripts/kafka.sh restart  down, then up (the contract suite's broker-restart case uses it)
#   scripts/kafka.sh pause    freeze the broker (SIGSTOP): connections stay open, nothing answers
#   scripts/kafka.sh resume   thaw it (SIGCONT)
#   scripts/kafka.sh kill     kill -9 the broker, keeping its data (`up` starts it again)
#   scripts/kafka.sh status   say whether it runs and where
#   scripts/kafka.sh logs     print the broker's log
#   scripts/kafka.sh reset    stop and delete its data (the jars stay cached)
#   scripts/kafka.sh class MAIN [ARGS]   run a Kafka main class on the broker's classpath
#
# Environment: KAFKA_PORT (default 9092; the controller listens on KAFKA_PORT+1),
# KAFKA_CACHE (default <repo>/.cache/kafka), KAFKA_HEAP (default 1G).
#
# A secured listener beside the plaintext one (the plaintext port stays for tools on this host):
#   KAFKA_TLS_DIR=DIR      a SASL_SSL listener on KAFKA_PORT+2 with DIR/broker.pem (the broker's
#                          PKCS#8 key, then its certificate chain) and DIR/ca.pem (the CAs it
#                          trusts for client certificates)
#   KAFKA_SASL_USERS=u:p,...  its users, for PLAIN and for SCRAM-SHA-256/512 (SCRAM users are
#                          written when the storage is formatted: reset to change them)
#   KAFKA_TLS_CLIENT_AUTH=none|requested|required  client certificates (default none)
#   KAFKA_AUTHORIZER=1     turn ACLs on (Kafka's StandardAuthorizer): a principal may do only what
#                          an ACL allows it; the plaintext listener's ANONYMOUS (tools on this host)
#                          is a super user. Add ACLs with `scripts/kafka.sh class
#                          org.apache.kafka.tools.AclCommand --bootstrap-server 127.0.0.1:$KAFKA_PORT ...`
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
port=${KAFKA_PORT:-9092}
controller_port=$((port + 1))
cache=${KAFKA_CACHE:-$repo/.cache/kafka}
lib=$cache/$version/lib
run=$cache/run-$port
pidfile=$run/broker.pid
logfile=$run/broker.log

die() { echo "kafka.sh: $*" >&2; exit 1; }
# shellcheck source=pidfile.sh
. "$here/pidfile.sh"

need_tools() {
  command -v java >/dev/null || die "java not found: install a JDK 17 or newer (Debian: apt-get install -y openjdk-17-jdk-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install -y maven)"
}

fetch_jars() {
  [ -f "$lib/.complete" ] && return 0
  need_tools
  echo "kafka.sh: fetching Apache Kafka $version jars from Maven Central into $lib"
  rm -rf "$lib" && mkdir -p "$lib"
  local out
  out=$(mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" 2>&1) || { echo "$out" >&2; die "maven could not fetch the Kafka jars (output above)"; }
  touch "$lib/.complete"
}

kafka_class() {
  java -Xmx256m -cp "$lib/*" -Dlog4j2.configurationFile="$run/log4j2.properties" "$@"
}


# Waits until every thread of process $1 has stopped: kill returns once the signal is queued, and a
# thread busy on a CPU stops only when it next enters the kernel. Where /proc is missing, trusts kill.
frozen() {
  [ -d "/proc/$1/task" ] || return 0
  for _ in $(seq 1 100); do
    sed 's/.*) //' /proc/"$1"/task/*/stat 2>/dev/null | cut -d' ' -f1 | grep -qv '^[tT]$' || return 0
    sleep 0.05
  done
  die "pid $1 did not stop within 5 s of SIGSTOP"
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

secure_port=$((port + 2))
tls_dir=${KAFKA_TLS_DIR:-}

# KAFKA_SASL_USERS as `--add-scram` arguments of the storage format, one per user and mechanism.
scram_arguments() {
  [ -n "$tls_dir" ] || return 0
  local pair mechanism
  for pair in ${KAFKA_SASL_USERS//,/ }; do
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
      printf '%s\n' --add-scram "$mechanism=[name=${pair%%:*},password=${pair#*:}]"
    done
  done
}

# The SASL_SSL listener's settings (PEM key store and trust store, PLAIN users in its JAAS line).
secure_listener_config() {
  [ -f "$tls_dir/broker.pem" ] && [ -f "$tls_dir/ca.pem" ] || die "KAFKA_TLS_DIR=$tls_dir needs broker.pem and ca.pem"
  [ -n "${KAFKA_SASL_USERS:-}" ] || die "KAFKA_TLS_DIR needs KAFKA_SASL_USERS=user:password,..."
  local plain_users="" pair
  for pair in ${KAFKA_SASL_USERS//,/ }; do plain_users+=" user_${pair%%:*}=\"${pair#*:}\""; done
  cat <<EOF
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$tls_dir/broker.pem
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=$tls_dir/ca.pem
listener.name.sasl_ssl.ssl.client.auth=${KAFKA_TLS_CLIENT_AUTH:-none}
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
}

write_config() {
  mkdir -p "$run/data"
  local listeners="PLAINTEXT://127.0.0.1:$port" protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [ -n "$tls_dir" ]; then
    listeners+=",SASL_SSL://127.0.0.1:$secure_port"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$run/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=$listeners,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$run/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A group's first join waits 100 ms for more members (Kafka's default is 3 s; the config/server.properties
# it ships says 0). At 0 the first member of a --workers tree or of replicas started together joined
# alone and took every partition; the next joined a rebalance later, the first's transactions in flight
# fenced and the moved partitions' state restored again (docs/performance.md, "One generation at start").
group.initial.rebalance.delay.ms=100
# Short session timeouts are allowed so that crash tests see a dead member leave quickly.
group.min.session.timeout.ms=1000
group.consumer.min.session.timeout.ms=1000
group.consumer.session.timeout.ms=10000
transaction.abort.timed.out.transaction.cleanup.interval.ms=5000
EOF
  [ -z "$tls_dir" ] || secure_listener_config >>"$run/server.properties"
  if [ "${KAFKA_AUTHORIZER:-0}" = 1 ]; then
    printf '%s\n' 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer' 'super.users=User:ANONYMOUS' >>"$run/server.properties"
  fi
  cat >"$run/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $logfile
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
}

up() {
  if running; then
    echo "kafka.sh: already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
    return 0
  fi
  command -v java >/dev/null || need_tools
  answers && die "port $port is taken by another process; set KAFKA_PORT to another port"
  fetch_jars
  write_config
  if [ ! -f "$run/data/meta.properties" ]; then
    cluster_id=$(kafka_class kafka.tools.StorageTool random-uuid)
    local scram=()
    mapfile -t scram < <(scram_arguments)
    kafka_class kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$run/server.properties" "${scram[@]}" >/dev/null \
      || die "formatting storage in $run/data failed"
  fi
  # setsid: the broker outlives the shell that started it and gets its own process group.
  setsid java -Xms256m -Xmx"${KAFKA_HEAP:-1G}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$run/log4j2.properties" -Dkafka.logs.dir="$run" \
    -cp "$lib/*" kafka.Kafka "$run/server.properties" >"$run/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  started() { answers && grep -q "Kafka Server started" "$logfile" 2>/dev/null; }
  await_ready 60 broker started
  echo "kafka.sh: Kafka $version ready on 127.0.0.1:$port${tls_dir:+ and SASL_SSL on 127.0.0.1:$secure_port} (pid $(cat "$pidfile"))"
}


case "${1:-}" in
  up) up ;;
  down) stop_server kafka.sh ;;
  restart) stop_server kafka.sh; up ;;
  pause) running || die "not running on port $port"; kill -STOP "$(cat "$pidfile")"; frozen "$(cat "$pidfile")"; echo "kafka.sh: paused" ;;
  resume) running || die "not running on port $port"; kill -CONT "$(cat "$pidfile")"; echo "kafka.sh: resumed" ;;
  kill) kill_server kafka.sh ;;
  status) if running; then echo "kafka.sh: running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; else echo "kafka.sh: not running on port $port"; exit 3; fi ;;
  logs) cat "$run/stdout.log" "$logfile" 2>/dev/null ;;
  reset) stop_server kafka.sh; rm -rf "$run" ;;
  class) shift; fetch_jars; mkdir -p "$run"; [ -f "$run/log4j2.properties" ] || write_config; kafka_class "$@" ;;
  *) echo "usage: scripts/kafka.sh up|down|restart|pause|resume|kill|status|logs|reset|class MAIN [ARGS]" >&2; exit 2 ;;
esac
