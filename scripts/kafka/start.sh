#!/usr/bin/env bash
# Start a throwaway single-node Apache Kafka 4.1 broker (KRaft, broker+controller
# in one JVM) on 127.0.0.1 without Docker, for CI and local development.
#
#   scripts/kafka/start.sh [port]          # default 9093; 9092 is the embedded broker
#   scripts/kafka/start.sh [port] secure   # SASL_SSL, SCRAM and ACLs (see secure.sh)
#   scripts/kafka/stop.sh
#
# Topics are not auto-created; the wallet creates its own. For others:
#   java -cp '.kafka/libs/*' org.apache.kafka.tools.TopicCommand \
#     --bootstrap-server 127.0.0.1:9093 --create --topic NAME --partitions 2
#
# Every start begins with an EMPTY cluster (data dir is re-formatted), so tests never
# see topics or offsets from an earlier run. Needs Java 17+, Maven and kcat.
# Everything lands in <repo>/.kafka (git-ignored): libs/, data/, kafka.log, kafka.pid.
set -euo pipefail

PORT=${1:-9093}
MODE=${2:-plaintext}
if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 64535 ] ||
  ! [[ $MODE =~ ^(plaintext|secure)$ ]]; then
  echo "usage: $0 [port] [plaintext|secure]   (port 1..64535; the controller listens on port+1000)" >&2
  exit 2
fi
CONTROLLER_PORT=$((PORT + 1000))
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=$ROOT/.kafka
LIBS=$DIR/libs
LOG=$DIR/kafka.log
CP="$LIBS/*" # a JVM classpath wildcard, not a shell glob: keep it quoted

# Probes a TCP port with bash alone (no nc/ss dependency).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start means "fresh broker": replace one we started earlier instead of wiping its
# data dir under its feet.
"$ROOT/scripts/kafka/stop.sh"

# Anything else on the port would answer the readiness probe and fool us.
for p in "$PORT" "$CONTROLLER_PORT"; do
  if port_open "$p"; then
    echo "port $p on 127.0.0.1 is already in use; pass another port" >&2
    exit 1
  fi
done

if ! command -v kcat >/dev/null; then
  # CI images are Debian-based; elsewhere install kcat yourself.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq kcat >/dev/null
  else
    echo "kcat is required (apt-get install kcat / brew install kcat)" >&2
    exit 1
  fi
fi

. "$ROOT/scripts/kafka/jars.sh"
fetch_jars "$DIR"

# The secured mode's certificates, passwords, client files and listener
# settings, and how the probe and kcat connect (KCAT).
KCAT=()
FORMAT_ARGS=()
if [ "$MODE" = secure ]; then
  # shellcheck source=scripts/kafka/secure.sh
  . "$ROOT/scripts/kafka/secure.sh"
  secure_files
fi

# Combined broker+controller node using the 4.x dynamic quorum
# (controller.quorum.bootstrap.servers + format --standalone).
{
  if [ "$MODE" = secure ]; then
    secure_listeners
  else
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
  fi
  cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
log.dirs=$DIR/data
num.partitions=2
auto.create.topics.enable=false
# single node: internal topics cannot have more than one replica
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# fewer internal partitions make the first consumer group join faster
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.segment.bytes=8388608
# The tables are compacted while the tests run (run/compaction_test.go):
# segments roll every 2 s when written to, and the cleaner takes any log
# with dirt in it, within a second.
log.roll.ms=2000
log.cleaner.backoff.ms=1000
log.cleaner.min.cleanable.ratio=0.01
PROPS
} >"$DIR/server.properties"

JAVA=(java -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$CP")

# Kafka refuses unformatted log dirs. Kafka's own Uuid generator never starts an
# id with '-' (it would parse as a CLI flag); a JVM start just for that is 0.7 s,
# so do the same in bash: 16 random bytes, URL-safe base64 without padding.
rm -rf "$DIR/data"
cluster_id=-
while [[ $cluster_id == -* ]]; do
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
done
if ! out=$("${JAVA[@]}" kafka.tools.StorageTool format --standalone \
  -t "$cluster_id" -c "$DIR/server.properties" ${FORMAT_ARGS[@]+"${FORMAT_ARGS[@]}"} 2>&1); then
  echo "$out" >&2
  exit 1
fi

# nohup: the broker must outlive this script and the terminal that ran it.
nohup "${JAVA[@]}" -Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError \
  kafka.Kafka "$DIR/server.properties" </dev/null >"$LOG" 2>&1 &
pid=$!
echo "$pid" >"$DIR/kafka.pid"

# An open port is not enough: wait until the broker has registered with the
# controller and shows up in metadata, i.e. clients can really use it.
# (grep without -q: an early exit could SIGPIPE kcat and, with pipefail, fail the probe.)
deadline=$((SECONDS + 90))
until port_open "$PORT" &&
  kcat -b "127.0.0.1:$PORT" ${KCAT[@]+"${KCAT[@]}"} -L -m 2 2>/dev/null | grep -F "broker 1 at 127.0.0.1:$PORT" >/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "kafka did not come up on 127.0.0.1:$PORT; tail of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    "$ROOT/scripts/kafka/stop.sh"
    exit 1
  fi
  sleep 0.5
done
if [ "$MODE" = secure ]; then
  secure_acls
  echo "kafka ready on 127.0.0.1:$PORT (SASL_SSL, SCRAM-SHA-512, ACLs); clients: . $SEC/env"
else
  echo "kafka ready on 127.0.0.1:$PORT"
fi
