package chaos

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	walletrun "github.com/wallet/wallet/run"
)

// kafkaOpts returns the options of the harness's own Kafka clients of the
// broker at addr: the security settings of the environment
// (WALLET_KAFKA_TLS, WALLET_KAFKA_SASL_MECHANISM, ...), which the processes
// it starts inherit and read too. So a run with -brokers against a secured
// Kafka needs nothing but those variables, for a principal that holds the
// ACLs of every role (make test-kafka uses wallet-test).
func kafkaOpts(addr string) ([]kgo.Opt, error) {
	s, err := walletrun.SecurityFromEnv()
	if err != nil {
		return nil, fmt.Errorf("Kafka security from the environment: %w", err)
	}
	sec, err := s.KgoOpts()
	if err != nil {
		return nil, err
	}
	return append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID("wallet-chaos")}, sec...), nil
}
