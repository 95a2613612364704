#!/usr/bin/env bash
# Stop the broker started by scripts/kafka/start.sh. Quiet when none is running.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.kafka
PIDFILE=$DIR/kafka.pid

pid=$(cat "$PIDFILE" 2>/dev/null || true)
# The pid file may be stale (reboot, crash) and the pid reused: only signal it
# if it is still our broker.
if [ -n "$pid" ] && ps -p "$pid" -o args= 2>/dev/null | grep -q 'kafka\.Kafka'; then
  kill -TERM "$pid" 2>/dev/null || true
  # A controlled shutdown normally takes a few seconds; don't hang CI on it.
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "kafka stopped (pid $pid)"
fi
rm -f "$PIDFILE"
