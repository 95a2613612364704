package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// Ping checks that Kafka answers, with an error that names the address and
// how to start a broker.
func (c Config) Ping() error {
	if err := c.Security.Check(); err != nil {
		return err
	}
	if _, err := c.Security.TLSConfig(); err != nil {
		return err
	}
	s := c.Sarama()
	s.ClientID = "wallet-ping"
	client, err := sarama.NewClient(c.Brokers, s)
	if err != nil {
		return c.unreachable(err)
	}
	return client.Close()
}

// ErrUnreachable is returned when no broker answers.
var ErrUnreachable = errors.New("cannot reach Kafka")

func (c Config) unreachable(err error) error {
	// A broker that does not accept a client's TLS or credentials closes
	// the connection: the client sees an EOF, as from a broker going away.
	if c.Security != (Security{}) {
		return fmt.Errorf("%w at %s (%v): if it runs, check the security settings: -kafka-tls, -kafka-ca-file, -kafka-server-name, -kafka-sasl-mechanism, -kafka-username and the password",
			ErrUnreachable, strings.Join(c.Brokers, ","), err)
	}
	return fmt.Errorf("%w at %s (%v): start the embedded broker with `go run ./cmd/broker`, run everything with `make run`, or pass -brokers (and, for a broker that requires TLS or SASL, -kafka-tls and -kafka-sasl-mechanism)",
		ErrUnreachable, strings.Join(c.Brokers, ","), err)
}
