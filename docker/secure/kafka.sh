#!/usr/bin/env bash
# Entrypoint of docker/docker-compose.secure.yml: the settings of
# `scripts/kafka/start.sh PORT secure` in the apache/kafka image.
#
# - Clients: SASL_SSL on :9094 (advertised as localhost:9094), SCRAM-SHA-512
#   (PLAIN too, for kcat built on librdkafka < 2.6.1, which cannot SCRAM
#   with Kafka 4); controller: SASL_PLAINTEXT with PLAIN on :9093, inside
#   the container only.
# - StandardAuthorizer, nothing allowed without an ACL; super user
#   wallet-broker (the broker's own principal, also for kafka-acls.sh).
# - On the first start, into the volume's secrets/ (kept with the data): a
#   CA and the broker's certificate for localhost, kafka and 127.0.0.1
#   (keytool: the image has no openssl), a random password per principal,
#   and NAME.properties (Java tools' --command-config) for each. Copy out
#   what clients need with `docker compose cp kafka:/var/lib/kafka/data/secrets/ca.pem .`.
# The ACLs are not created here: see the compose file.
set -euo pipefail

K=/opt/kafka
D=/var/lib/kafka/data
S=$D/secrets
PRINCIPALS=(wallet-broker wallet-admin wallet-api wallet-processor wallet-view)
secret() { head -c 18 /dev/urandom | base64 | tr '+/' 'xy'; }

mkdir -p "$S"
chmod 700 "$S"
if [ ! -f "$S/broker.p12" ]; then
  ks=$(secret)
  echo "$ks" >"$S/keystore.password"
  kt=(keytool -storetype PKCS12 -storepass "$ks")
  "${kt[@]}" -genkeypair -keystore "$S/ca.p12" -alias ca -dname "CN=wallet compose CA" \
    -keyalg EC -groupname secp256r1 -validity 825 -ext bc:c
  "${kt[@]}" -exportcert -keystore "$S/ca.p12" -alias ca -rfc -file "$S/ca.pem"
  "${kt[@]}" -genkeypair -keystore "$S/broker.new" -alias broker -dname CN=localhost \
    -keyalg EC -groupname secp256r1 -validity 825
  "${kt[@]}" -certreq -keystore "$S/broker.new" -alias broker -file "$S/broker.csr"
  "${kt[@]}" -gencert -keystore "$S/ca.p12" -alias ca -infile "$S/broker.csr" -outfile "$S/broker.pem" \
    -rfc -validity 825 -ext SAN=dns:localhost,dns:kafka,ip:127.0.0.1 -ext EKU=serverAuth,clientAuth
  "${kt[@]}" -importcert -noprompt -keystore "$S/broker.new" -alias ca -file "$S/ca.pem"
  "${kt[@]}" -importcert -keystore "$S/broker.new" -alias broker -file "$S/broker.pem"
  rm "$S/broker.csr"
  for p in "${PRINCIPALS[@]}"; do
    pw=$(secret)
    echo "$pw" >"$S/$p.password"
    cat >"$S/$p.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$p" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$S/ca.pem
PROPS
  done
  cp "$S/wallet-broker.properties" "$S/super.properties"
  mv "$S/broker.new" "$S/broker.p12" # last: its presence means all is there
fi

bpw=$(cat "$S/wallet-broker.password")
plain_users=
scram=()
for p in "${PRINCIPALS[@]}"; do
  pw=$(cat "$S/$p.password")
  plain_users+=" user_$p=\"$pw\""
  scram+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$pw]")
done

umask 077
cat >/tmp/server.properties <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
controller.listener.names=CONTROLLER
listeners=SASL_SSL://:9094,CONTROLLER://:9093
advertised.listeners=SASL_SSL://localhost:9094
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="wallet-broker" password="$bpw";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="wallet-broker" password="$bpw" user_wallet-broker="$bpw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$S/broker.p12
ssl.keystore.password=$(cat "$S/keystore.password")
ssl.truststore.type=PEM
ssl.truststore.location=$S/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:wallet-broker
allow.everyone.if.no.acl.found=false
log.dirs=$D/logs
num.partitions=2
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

# SCRAM credentials live in the metadata: created when the log dir is
# formatted, on the first start only.
if [ ! -f "$D/logs/meta.properties" ]; then
  "$K/bin/kafka-storage.sh" format --standalone -t "$("$K/bin/kafka-storage.sh" random-uuid)" \
    -c /tmp/server.properties "${scram[@]}"
fi
exec "$K/bin/kafka-server-start.sh" /tmp/server.properties
