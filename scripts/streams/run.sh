#!/usr/bin/env bash
# Run the wallet's processors on Kafka Streams (README.md here):
#
#   scripts/streams/run.sh -brokers 127.0.0.1:9093 -guarantee at_least_once -state-dir DIR
#
# Builds first if there is no build (target/, git-ignored). The JVM replaces
# this shell (exec), so that its pid is the one `loadgen -streams` starts and
# reads the CPU time of. JVM and Kafka Streams settings are their defaults
# but the commit interval (Main.java).
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -d "$DIR/target/lib" ] || [ ! -d "$DIR/target/classes" ]; then
  "$DIR/build.sh"
fi
exec java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$DIR/target/classes:$DIR/target/lib/*" wallet.streams.Main "$@"
