# Sourced by start.sh and cluster.sh: fetch_jars puts Apache Kafka's jars
# (scripts/kafka/pom.xml) in $1/libs and a quiet logging config in
# $1/log4j2.properties.
#
# The jars are fetched again only when pom.xml changed, and from scratch,
# so that two Kafka versions never end up on the same classpath.
fetch_jars() {
  local dir=$1 pom libs stamp out
  pom=$(dirname "${BASH_SOURCE[0]}")/pom.xml
  libs=$dir/libs
  mkdir -p "$dir"
  stamp=$(cksum <"$pom")
  if [ "$(cat "$libs/.pom-cksum" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$libs"
    # Captured: Maven prints its errors on stdout, and stray ANSI codes even with -q.
    if ! out=$(mvn -q -B -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime 2>&1); then
      echo "$out" >&2
      exit 1
    fi
    echo "$stamp" >"$libs/.pom-cksum"
  fi
  # The published POMs carry no logging config; keep the console quiet and
  # send warnings (plus anything the JVM prints) to each node's kafka.log,
  # and what the group coordinator decides (rebalances, members expired),
  # which tells why a consumer group's session ended.
  cat >"$dir/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.group.name = org.apache.kafka.coordinator.group
logger.group.level = INFO
PROPS
}
