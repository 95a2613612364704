#!/usr/bin/env bash
# Build the Kafka Streams harness: classes in target/classes, the runtime
# jars (kafka-streams and what it needs, fetched by Maven) in target/lib.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Captured: Maven prints its errors on stdout, and stray ANSI codes even with -q.
if ! out=$(mvn -q -B -f "$DIR/pom.xml" package 2>&1); then
  echo "$out" >&2
  exit 1
fi
