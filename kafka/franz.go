package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The wallet's processors, API and views talk to Kafka through goka, which
// uses sarama. franz-go (kgo) clients are for what sarama cannot do: reading
// a partition's transaction markers (CommittedEnd), the embedded broker's
// own client, and the tests' and harnesses' raw clients.

// KgoOpts returns the kgo options of s: TLS with its CA, client
// certificate and server name, and SASL with its mechanism. None for the
// zero value.
func (s Security) KgoOpts() ([]kgo.Opt, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	tc, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch s.Mechanism {
	case "":
	case PLAIN:
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case SCRAMSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
	case SCRAMSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("SASL mechanism %q", s.Mechanism)
	}
	return opts, nil
}

// KgoClient returns a franz-go client of c's brokers, secured as every
// client of c is, with opts.
func (c Config) KgoClient(opts ...kgo.Opt) (*kgo.Client, error) {
	sec, err := c.Security.KgoOpts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.DisableClientMetrics()}, sec...), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("create a Kafka client: %w", err)
	}
	return cl, nil
}
