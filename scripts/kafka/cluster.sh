#!/usr/bin/env bash
# A throwaway 3-node Apache Kafka 4.1 cluster on 127.0.0.1, plaintext, from the
# same Maven-fetched jars as scripts/kafka/start.sh: each node is a broker and a
# controller (KRaft, a quorum of 3 voters), in a JVM of its own, so that a test
# can kill one, stop one gracefully and start it again (run/leaders_test.go).
#
#   scripts/kafka/cluster.sh start            # a fresh, empty cluster; waits until every node serves
#   scripts/kafka/cluster.sh kill N           # kill -9 node N (1..3): a crash
#   scripts/kafka/cluster.sh stop N           # SIGTERM node N: a controlled shutdown, which moves
#                                             # its leaders away first; waits until it has exited
#   scripts/kafka/cluster.sh start N          # start node N again on its data; waits until it serves
#   scripts/kafka/cluster.sh status           # each node's pid, and the leaders of the wallet's topics
#   scripts/kafka/cluster.sh stop             # stop every node
#
# Node N is broker and node id N, on port BASE+N-1 (BASE is KAFKA_CLUSTER_PORT,
# default 9094: 9094, 9095, 9096), its controller on that port + 10000 (19094..).
# Clients: KAFKA_CLUSTER=127.0.0.1:9094,127.0.0.1:9095,127.0.0.1:9096.
# Topics get 3 replicas and min.insync.replicas=2 by default, and so do the
# consumer offsets and the transaction state: one node may be down at a time.
# Everything lands in <repo>/.kafka/cluster (git-ignored): nodeN/{server.properties,
# data,kafka.log,kafka.pid}. The single broker of start.sh is left alone.
# Needs Java 17+, Maven and kcat, as start.sh does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAFKA=$ROOT/.kafka
LIBS=$KAFKA/libs
DIR=$KAFKA/cluster
BASE=${KAFKA_CLUSTER_PORT:-9094}
NODES=(1 2 3)
CP="$LIBS/*" # a JVM classpath wildcard, not a shell glob: keep it quoted
JAVA=(java -Dlog4j2.configurationFile="$KAFKA/log4j2.properties" -cp "$CP")

usage() {
  sed -n '7,13p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
  exit 2
}

port() { echo $((BASE + $1 - 1)); }
controller_port() { echo $((BASE + $1 - 1 + 10000)); }
pidfile() { echo "$DIR/node$1/kafka.pid"; }

# Probes a TCP port with bash alone (no nc/ss dependency).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid prints node N's pid if it runs: the pid file may be stale (a reboot, a
# kill -9) and its pid reused, so only a JVM running our node's properties counts.
pid() {
  local p
  p=$(cat "$(pidfile "$1")" 2>/dev/null || true)
  if [ -n "$p" ] && ps -p "$p" -o args= 2>/dev/null | grep -qF "$DIR/node$1/server.properties"; then
    echo "$p"
  fi
}

. "$ROOT/scripts/kafka/jars.sh"

# properties writes node N's server.properties: a broker and a voter of a static
# quorum of the three controllers.
properties() {
  local n=$1 voters="" i
  for i in "${NODES[@]}"; do
    voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i")"
  done
  mkdir -p "$DIR/node$n"
  cat >"$DIR/node$n/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$(port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/node$n/data
num.partitions=2
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
# fewer internal partitions make the first consumer group join faster
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.segment.bytes=8388608
# Kafka's defaults, written down because they are what a kill costs: the
# controller fences a broker it has not heard from for broker.session.timeout.ms,
# and only then elects new leaders for its partitions.
broker.session.timeout.ms=9000
broker.heartbeat.interval.ms=2000
controlled.shutdown.enable=true
PROPS
}

# launch starts node N's JVM in the background. Heaps are small: three nodes
# share a 2-core machine with the wallet and its tests.
launch() {
  local n=$1
  # nohup: the node must outlive this script and the terminal that ran it.
  nohup "${JAVA[@]}" -Xms128m -Xmx384m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    kafka.Kafka "$DIR/node$n/server.properties" </dev/null >>"$DIR/node$n/kafka.log" 2>&1 &
  echo $! >"$(pidfile "$n")"
}

# wait_serving waits until node N shows in the metadata that node N itself
# answers, i.e. it has registered with the controller and clients can use it.
# (grep without -q: an early exit could SIGPIPE kcat and, with pipefail, fail the probe.)
wait_serving() {
  local n=$1 deadline=$((SECONDS + 120))
  until port_open "$(port "$n")" &&
    kcat -b "127.0.0.1:$(port "$n")" -L -m 2 2>/dev/null | grep -F "broker $n at 127.0.0.1:$(port "$n")" >/dev/null; do
    if [ -z "$(pid "$n")" ] || [ "$SECONDS" -ge "$deadline" ]; then
      echo "node $n did not come up on 127.0.0.1:$(port "$n"); tail of $DIR/node$n/kafka.log:" >&2
      tail -n 40 "$DIR/node$n/kafka.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

# stop_node sends node N a SIGTERM, a controlled shutdown (it hands its
# leaderships over before it exits), and waits for it to exit: a kill -9 after
# 60 s.
stop_node() {
  local n=$1 p
  p=$(pid "$n")
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 120); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$p" 2>/dev/null; then
    echo "node $n (pid $p) did not stop within 60s; killing it" >&2
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$n")"
  echo "node $n stopped (pid $p)"
}

# stop_all stops every node at once: a controlled shutdown of the last nodes
# of a quorum cannot finish, so this kills what is left after 10 s.
stop_all() {
  local n p pids=()
  for n in "${NODES[@]}"; do
    p=$(pid "$n")
    if [ -n "$p" ]; then
      kill -TERM "$p" 2>/dev/null || true
      pids+=("$p")
    fi
    rm -f "$(pidfile "$n")"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  local alive
  for _ in $(seq 20); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break
    sleep 0.5
  done
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  echo "kafka cluster stopped (pids ${pids[*]})"
}

# start_cluster formats three empty nodes and starts them.
start_cluster() {
  if ! command -v kcat >/dev/null; then
    echo "kcat is required (apt-get install kcat / brew install kcat)" >&2
    exit 1
  fi
  stop_all
  local n p
  for n in "${NODES[@]}"; do
    for p in "$(port "$n")" "$(controller_port "$n")"; do
      if port_open "$p"; then
        echo "port $p on 127.0.0.1 is already in use; set KAFKA_CLUSTER_PORT to another base" >&2
        exit 1
      fi
    done
  done
  fetch_jars "$KAFKA"
  rm -rf "$DIR"
  # One cluster ID for all three, made as start.sh makes it (never starting with '-').
  local cluster_id=- out
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  for n in "${NODES[@]}"; do
    properties "$n"
    # With controller.quorum.voters (a static quorum) the format needs no
    # --standalone or --initial-controllers.
    if ! out=$("${JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$DIR/node$n/server.properties" 2>&1); then
      echo "$out" >&2
      exit 1
    fi
  done
  # All three at once: the quorum needs two voters before any node serves.
  for n in "${NODES[@]}"; do launch "$n"; done
  for n in "${NODES[@]}"; do
    if ! wait_serving "$n"; then
      stop_all
      exit 1
    fi
  done
  echo "kafka cluster ready: KAFKA_CLUSTER=127.0.0.1:$(port 1),127.0.0.1:$(port 2),127.0.0.1:$(port 3)"
}

node_arg() {
  [[ ${1:-} =~ ^[123]$ ]] || usage
}

case "${1:-}" in
start)
  if [ $# -eq 1 ]; then
    start_cluster
  else
    node_arg "$2"
    if [ ! -f "$DIR/node$2/server.properties" ]; then
      echo "no cluster in $DIR: run $0 start first" >&2
      exit 1
    fi
    if [ -n "$(pid "$2")" ]; then
      echo "node $2 is already running (pid $(pid "$2"))"
      exit 0
    fi
    launch "$2"
    wait_serving "$2"
    echo "node $2 started (pid $(pid "$2"))"
  fi
  ;;
kill)
  node_arg "${2:-}"
  p=$(pid "$2")
  if [ -z "$p" ]; then
    echo "node $2 is not running" >&2
    exit 1
  fi
  kill -KILL "$p"
  while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  rm -f "$(pidfile "$2")"
  echo "node $2 killed (pid $p)"
  ;;
stop)
  if [ $# -eq 1 ]; then
    stop_all
  else
    node_arg "$2"
    stop_node "$2"
  fi
  ;;
status)
  for n in "${NODES[@]}"; do
    p=$(pid "$n")
    if [ -n "$p" ]; then
      echo "node $n on 127.0.0.1:$(port "$n"): running (pid $p)"
    else
      echo "node $n on 127.0.0.1:$(port "$n"): down"
    fi
  done
  for n in "${NODES[@]}"; do
    if [ -n "$(pid "$n")" ]; then
      kcat -b "127.0.0.1:$(port "$n")" -L -m 3 2>/dev/null | grep -E '^  topic "|partition ' || true
      break
    fi
  done
  ;;
*)
  usage
  ;;
esac
