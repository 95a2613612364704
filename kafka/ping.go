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
	return fmt.Errorf("%w at %s (%v): start the embedded broker with `go run ./cmd/broker`, run everything with `make run`, or pass -brokers",
		ErrUnreachable, strings.Join(c.Brokers, ","), err)
}
