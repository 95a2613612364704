# Sourced by `scripts/kafka/start.sh PORT secure`: the broker as a managed
# Kafka service runs it, with the wallet's least-privilege ACLs.
#
# - Clients connect to a SASL_SSL listener on 127.0.0.1:PORT and
#   authenticate with SCRAM-SHA-512; the broker's certificate (127.0.0.1 and
#   localhost) is signed by a CA made for this start, valid for 2 days.
# - The controller listener (PORT+1000) is SASL_PLAINTEXT with PLAIN, for
#   the broker alone: SCRAM credentials live in the metadata the controller
#   serves, so the controller cannot use them itself.
# - The same users may also authenticate with PLAIN on that listener, for
#   kcat alone: the librdkafka of Debian 12's kcat (2.0.2) computes a SCRAM
#   proof that Kafka 4 rejects (librdkafka#4895, fixed in 2.6.1). The
#   NAME.kcat files use PLAIN; every Go and Java client uses SCRAM.
# - StandardAuthorizer, nothing allowed without an ACL. The one super user
#   is wallet-broker, the broker's own principal (inter-broker and
#   controller traffic); kafka-acls.sh runs as it (super.properties).
# - A SCRAM user per role, with the ACLs `go run ./cmd/acls` prints:
#   wallet-admin (creates the topics), wallet-api (the emitter),
#   wallet-processor (the three groups), wallet-view (the tables); and
#   wallet-test, which holds every role's ACLs plus reading the dead letter
#   topic, for make test-kafka.
#
# Everything is written afresh on each start into .kafka/secure/ (mode 700,
# git-ignored): ca.pem, and per principal NAME.password (for
# -kafka-password-file), NAME.properties (Java tools' --command-config) and
# NAME.kcat (kcat -F). `. .kafka/secure/env` sets what make test-kafka uses:
# KAFKA_BROKERS, the WALLET_KAFKA_* settings of wallet-test (read by every
# command and by the tests), KAFKA_API_USERNAME and KAFKA_API_PASSWORD_FILE
# (run/acl_test.go) and KAFKA_KCAT_CONFIG (wallet-test's kcat settings).
#
# Uses openssl (the CA and certificate), java (the broker, kafka-acls) and
# $DIR, $PORT, $CONTROLLER_PORT, $ROOT, $CP set by start.sh.

SEC=$DIR/secure
PRINCIPALS=(wallet-broker wallet-admin wallet-api wallet-processor wallet-view wallet-test)

# A random password: 24 characters, letters and digits.
secure_password() { head -c 18 /dev/urandom | base64 | tr '+/' 'xy'; }

# Writes the CA, the broker's keystore, and each principal's password and
# client files; sets FORMAT_ARGS (the SCRAM credentials created at format
# time) and KCAT (how kcat connects as the super user).
secure_files() {
  rm -rf "$SEC"
  mkdir -p "$SEC"
  chmod 700 "$SEC"
  local out
  # EC P-256 keys: generated in milliseconds, accepted by Java and Go.
  if ! out=$( (
    set -e
    cd "$SEC"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout ca.key -out ca.pem -days 2 -subj "/CN=wallet test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout broker.key -out broker.csr -subj "/CN=localhost"
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth,clientAuth' \
      'basicConstraints=CA:FALSE' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out broker.pem -days 2 -extfile broker.ext
    KEYSTORE_PASSWORD=$(secure_password)
    export KEYSTORE_PASSWORD
    echo "$KEYSTORE_PASSWORD" >keystore.password
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -out broker.p12 -passout env:KEYSTORE_PASSWORD
    rm ca.key broker.csr broker.ext # nothing signs with the CA after this
  ) 2>&1); then
    echo "making the test CA and broker certificate failed:" >&2
    echo "$out" >&2
    exit 1
  fi

  local p pw
  PLAIN_USERS=
  for p in "${PRINCIPALS[@]}"; do
    pw=$(secure_password)
    echo "$pw" >"$SEC/$p.password"
    FORMAT_ARGS+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$pw]")
    cat >"$SEC/$p.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$p" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$SEC/ca.pem
PROPS
    PLAIN_USERS+=" user_$p=\"$pw\""
    cat >"$SEC/$p.kcat" <<PROPS
security.protocol=SASL_SSL
sasl.mechanisms=PLAIN
sasl.username=$p
sasl.password=$pw
ssl.ca.location=$SEC/ca.pem
PROPS
  done
  cp "$SEC/wallet-broker.properties" "$SEC/super.properties"
  KCAT=(-F "$SEC/wallet-broker.kcat")

  cat >"$SEC/env" <<ENV
# Source this file (. $SEC/env) to use the secured broker as wallet-test.
export KAFKA_BROKERS=127.0.0.1:$PORT
export WALLET_KAFKA_TLS=true
export WALLET_KAFKA_CA_FILE=$SEC/ca.pem
export WALLET_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
export WALLET_KAFKA_USERNAME=wallet-test
export WALLET_KAFKA_PASSWORD_FILE=$SEC/wallet-test.password
export KAFKA_API_USERNAME=wallet-api
export KAFKA_API_PASSWORD_FILE=$SEC/wallet-api.password
export KAFKA_KCAT_CONFIG=$SEC/wallet-test.kcat
ENV
}

# Prints the listener and security settings of server.properties.
secure_listeners() {
  local pw ks
  pw=$(cat "$SEC/wallet-broker.password")
  ks=$(cat "$SEC/keystore.password")
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$PLAIN_USERS;
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="wallet-broker" password="$pw";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="wallet-broker" password="$pw" user_wallet-broker="$pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$SEC/broker.p12
ssl.keystore.password=$ks
ssl.truststore.type=PEM
ssl.truststore.location=$SEC/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:wallet-broker
allow.everyone.if.no.acl.found=false
PROPS
}

# Prints the ACLs as kafka-acls.sh commands, one a line: cmd/acls's when
# it exists, else a hand-written stand-in of the same shape.
secure_acl_commands() {
  local bs=127.0.0.1:$PORT cc=$SEC/super.properties
  if [ -d "$ROOT/cmd/acls" ]; then
    (cd "$ROOT" && go run ./cmd/acls -bootstrap-server "$bs" -command-config "$cc")
    return
  fi
  local add="kafka-acls.sh --bootstrap-server $bs --command-config $cc --add"
  local t
  for t in wallet.signup_request wallet.transfer_request wallet.payment wallet.dead_letter \
    signup-table paymentd-table accountant-table; do
    echo "$add --allow-principal User:wallet-admin --operation Create --operation Describe --operation DescribeConfigs --topic $t"
  done
  for t in wallet.signup_request wallet.transfer_request; do
    echo "$add --allow-principal User:wallet-api --operation Write --operation Describe --operation DescribeConfigs --topic $t"
  done
  for t in signup-table paymentd-table; do
    echo "$add --allow-principal User:wallet-api --operation Read --operation Describe --operation DescribeConfigs --topic $t"
  done
  for t in wallet.signup_request wallet.transfer_request wallet.payment; do
    echo "$add --allow-principal User:wallet-processor --operation Read --operation Write --operation Describe --operation DescribeConfigs --topic $t"
  done
  echo "$add --allow-principal User:wallet-processor --operation Write --operation Describe --operation DescribeConfigs --topic wallet.dead_letter"
  for t in signup-table paymentd-table accountant-table; do
    echo "$add --allow-principal User:wallet-processor --operation Read --operation Write --operation Describe --operation DescribeConfigs --topic $t"
    echo "$add --allow-principal User:wallet-view --operation Read --operation Describe --operation DescribeConfigs --topic $t"
  done
  for t in signup paymentd accountant; do
    echo "$add --allow-principal User:wallet-processor --operation Read --operation Describe --group $t"
  done
}

# Creates the ACLs: each role's, each also granted to wallet-test, and
# wallet-test's own (the tests read the dead letter topic). All in one JVM
# (org.apache.kafka.tools.AclCommand once per line), since a JVM start per
# line would cost a second or more each.
secure_acls() {
  local lines
  lines=$(secure_acl_commands)
  lines+=$'\n'"kafka-acls.sh --bootstrap-server 127.0.0.1:$PORT --command-config $SEC/super.properties --add --allow-principal User:wallet-test --operation Read --operation Describe --topic wallet.dead_letter"
  local line args=()
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    local words
    read -ra words <<<"$line"
    if [ "${words[0]}" != kafka-acls.sh ]; then
      echo "unexpected ACL command: $line" >&2
      exit 1
    fi
    # wallet-test holds the union of the roles.
    if [[ " $line " == *" User:wallet-"* && " $line " != *" User:wallet-test "* ]]; then
      words+=(--allow-principal User:wallet-test)
    fi
    args+=("${words[@]:1}" ";")
  done <<<"$lines"
  local out
  if ! out=$(java -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$CP" \
    "$ROOT/scripts/kafka/Acls.java" "${args[@]}" 2>&1); then
    echo "creating the ACLs failed:" >&2
    echo "$out" >&2
    exit 1
  fi
  printf '%s\n' "$lines" >"$SEC/acls.txt"
}
