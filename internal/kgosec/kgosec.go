// Package kgosec applies the wallet's Kafka security settings
// (kafka.Security) to franz-go clients, which the tests and the chaos
// harness use beside the wallet's own sarama clients.
package kgosec

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/wallet/wallet/kafka"
)

// Opts returns the kgo options of s: TLS with its CA, client certificate
// and server name, and SASL with its mechanism. None for the zero value.
func Opts(s kafka.Security) ([]kgo.Opt, error) {
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
	case kafka.PLAIN:
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case kafka.SCRAMSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
	case kafka.SCRAMSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("SASL mechanism %q", s.Mechanism)
	}
	return opts, nil
}
