#!/usr/bin/env bash
# The wallet against Kafka Streams, processing only, on the same workload
# and the same Apache Kafka (docs/BENCHMARKS.md, issue 20): for each
# scenario the wallet, Kafka Streams at_least_once and Kafka Streams
# exactly_once_v2, one after the other, each on a fresh broker
# (scripts/kafka/start.sh empties it), each given the same preload by
# `loadgen -processing` (same seed, same prefix) and checked against the
# same model. `make bench-streams` runs it.
#
#   scripts/streams/bench.sh
#
# Settings (environment): N=200000 transfer requests, SEED=1, ROUNDS=1
# (each round runs every scenario and system once), PORT=9093,
# SCENARIOS (one per line, loadgen flags), SYSTEMS (wallet,
# at_least_once, exactly_once_v2), OUT (a directory for each run's
# JSON report and log; default a new one under /tmp), WARM=1 (before
# each timed run, the same system runs WARM_N=50000 requests on the same
# broker, whose topics and groups are then deleted: the timed run meets
# a broker whose JIT has compiled its hot paths, as a long-running one
# has; about twice as long). About 10 minutes a round on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
N=${N:-200000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-9093}
SCENARIOS=${SCENARIOS:-"-accounts 10000
-accounts 1000
-accounts 10000 -hot-share 50"}
OUT=${OUT:-$(mktemp -d /tmp/bench-streams-XXXXXX)}
SYSTEMS=${SYSTEMS:-"wallet at_least_once exactly_once_v2"}
WARM=${WARM:-0}
WARM_N=${WARM_N:-50000}
mkdir -p "$OUT"

# Built before anything is timed: the harness (target/, git-ignored) and
# loadgen.
./scripts/streams/build.sh
go build -o "$OUT/loadgen" ./cmd/loadgen
trap './scripts/kafka/stop.sh >/dev/null' EXIT

# kafka_tool runs one of Kafka's command-line tools against the broker.
kafka_tool() {
  java -Dlog4j2.configurationFile=.kafka/log4j2.properties -cp '.kafka/libs/*' "$@" --bootstrap-server "127.0.0.1:$PORT"
}

# start.sh's broker rolls segments every 2 s and compacts them within a
# second, for the tests of compaction (run/compaction_test.go): here it
# would clean the changelogs while the systems write them, spending the
# broker's CPU and removing the records that each run counts. Kafka's
# defaults are put back before any topic exists.
kafka_defaults() {
  local out
  if ! out=$(kafka_tool kafka.admin.ConfigCommand --entity-type brokers --entity-default --alter \
    --add-config 'log.roll.ms=604800000,log.segment.bytes=1073741824,log.cleaner.min.cleanable.ratio=0.5,log.cleaner.backoff.ms=15000' 2>&1); then
    echo "$out" >&2
    exit 1
  fi
}

# forget deletes every topic but Kafka's own, and every group with its
# committed offsets, and waits until both are gone: what a run left, for
# the next to start fresh. Kafka Streams does not leave its group when it
# closes, so its group can be deleted only once the broker has dropped
# the member, after the session timeout (45 s).
forget() {
  kafka_tool org.apache.kafka.tools.TopicCommand --delete --topic '^[^_].*' >/dev/null 2>&1 || true
  local groups=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  local topics left
  for _ in $(seq 90); do
    # The command exits 0 even when a group is not deleted: list them.
    kafka_tool $groups --delete --all-groups >/dev/null 2>&1 || true
    # A listing that fails counts as not gone.
    if topics=$(kafka_tool org.apache.kafka.tools.TopicCommand --list --exclude-internal 2>/dev/null) &&
      left=$(kafka_tool $groups --list 2>/dev/null) &&
      [ -z "$topics" ] && [ -z "$left" ]; then
      return 0
    fi
    sleep 1
  done
  echo "topics or groups still there after 90 s" >&2
  exit 1
}

echo "reports in $OUT"
mapfile -t scenarios <<<"$SCENARIOS"
runs=()
status=0
for round in $(seq "$ROUNDS"); do
  for i in "${!scenarios[@]}"; do
    scenario=${scenarios[$i]}
    for system in $SYSTEMS; do
      name="r$round-s$((i + 1))-$system"
      runs+=("$name")
      echo "== round $round, scenario $((i + 1)) ($scenario), $system"
      uptime
      ./scripts/kafka/start.sh "$PORT" plaintext >/dev/null
      kafka_defaults
      # shellcheck disable=SC2086 # the scenario is a list of flags
      args=(-processing -brokers "127.0.0.1:$PORT" -broker-pid "$(cat .kafka/kafka.pid)"
        -n "$N" -seed "$SEED" -prefix pb -quiet -json -drain-timeout 5m $scenario)
      if [ "$system" != wallet ]; then
        args+=(-streams scripts/streams/run.sh -guarantee "$system")
      fi
      if [ "$WARM" = 1 ]; then
        warm=("${args[@]}")
        for j in "${!warm[@]}"; do
          if [ "${warm[$j]}" = -n ]; then warm[j + 1]=$WARM_N; fi
        done
        if ! "$OUT/loadgen" "${warm[@]}" >/dev/null 2>"$OUT/$name.warm.log"; then
          echo "warm-up FAILED; the end of $OUT/$name.warm.log:"
          tail -n 5 "$OUT/$name.warm.log"
        fi
        forget
      fi
      if ! "$OUT/loadgen" "${args[@]}" >"$OUT/$name.json" 2>"$OUT/$name.log"; then
        echo "FAILED; the end of $OUT/$name.log:"
        tail -n 5 "$OUT/$name.log"
        status=1
      fi
      ./scripts/kafka/stop.sh >/dev/null
      if [ -s "$OUT/$name.json" ]; then
        jq -r '"\(.system): \(.transfers_per_s | floor)/s, \(.cpu_us_per_transfer | floor) µs CPU and broker \(.broker_cpu_us_per_transfer | floor) µs per transfer, \(.check.violations) disagreements with the model, load average \(.loadavg_before)"' "$OUT/$name.json"
      fi
    done
  done
done

# One row per run: the changelog columns add both tables (transfers and
# accounts); CPU is per transfer request.
echo
echo "| round | scenario | system | transfers/s | CPU µs/transfer | broker CPU µs/transfer | changelog records/transfer | changelog B/transfer | first outcome s | peak RSS MiB | model | load average before |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
for name in "${runs[@]}"; do
  f=$OUT/$name.json
  [ -s "$f" ] || continue
  jq -r --arg round "${name%%-*}" '
    def scenario: "\(.scenario.accounts) accounts" + (if .scenario.hot_share > 0 then ", \(.scenario.hot_share)% to one" else "" end);
    "| \($round) | \(scenario) | \(.system) | \(.transfers_per_s | round) | \(.cpu_us_per_transfer | round) | \(.broker_cpu_us_per_transfer | round) | \(([.changelogs[].records_per_transfer] | add) * 100 | round / 100) | \([.changelogs[].bytes_per_transfer] | add | round) | \(.first_commit_s * 10 | round / 10) | \(.peak_rss_mib | round) | \(if .check.violations == 0 then "agrees" else "\(.check.violations) disagreements" end) | \(.loadavg_before) |"' "$f"
done
exit $status
