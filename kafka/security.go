package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// Security says how a client proves who it is to Kafka and protects the
// connection: what every managed Kafka service requires, and what lets the
// broker's ACLs hold the trust boundary (only processors write
// instructions and tables). The zero value is plaintext without
// authentication, as on the embedded broker.
type Security struct {
	// TLS encrypts the connection and checks the broker's certificate
	// against the system's roots, or CAFile's when set.
	TLS    bool
	CAFile string
	// CertFile and KeyFile, when set, are the client's certificate and
	// key, for brokers that authenticate clients by TLS (mTLS).
	CertFile, KeyFile string
	// ServerName is the name the broker's certificate must carry, when it
	// is not the host of the address dialled.
	ServerName string

	// Mechanism is the SASL mechanism: "" for none, PLAIN,
	// SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	// Username and Password authenticate with SASL. The password comes
	// from a file or the environment, never from a flag, whose value
	// anyone can read in the process list.
	Username, Password string
}

// SASL mechanisms.
const (
	PLAIN       = "PLAIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA512 = "SCRAM-SHA-512"
)

// Check reports settings that cannot work together.
func (s Security) Check() error {
	switch s.Mechanism {
	case "":
		if s.Username != "" {
			return fmt.Errorf("a Kafka username without a SASL mechanism: set -kafka-sasl-mechanism to %s, %s or %s", PLAIN, SCRAMSHA256, SCRAMSHA512)
		}
	case PLAIN, SCRAMSHA256, SCRAMSHA512:
		if s.Username == "" || s.Password == "" {
			return fmt.Errorf("SASL %s needs a username (-kafka-username) and a password (-kafka-password-file or WALLET_KAFKA_PASSWORD)", s.Mechanism)
		}
	default:
		return fmt.Errorf("SASL mechanism %q: want %s, %s or %s", s.Mechanism, PLAIN, SCRAMSHA256, SCRAMSHA512)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return fmt.Errorf("a client certificate needs both -kafka-cert-file and -kafka-key-file")
	}
	if !s.TLS && (s.CAFile != "" || s.CertFile != "" || s.ServerName != "") {
		return fmt.Errorf("TLS files or a server name without -kafka-tls")
	}
	return nil
}

// TLSConfig returns the client's TLS configuration, nil without TLS.
func (s Security) TLSConfig() (*tls.Config, error) {
	if !s.TLS {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read Kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("Kafka CA file %s holds no PEM certificate", s.CAFile)
		}
		c.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load Kafka client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// apply sets the security settings on a sarama configuration. Ping, which
// every command calls first, has reported what Check and TLSConfig find
// wrong; if a file has gone since, the connection still uses TLS, with the
// system's roots, and fails rather than fall back to plaintext.
func (s Security) apply(sc *sarama.Config) {
	if s.TLS {
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config, _ = s.TLSConfig()
	}
	if s.Mechanism == "" {
		return
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User = s.Username
	sc.Net.SASL.Password = s.Password
	switch s.Mechanism {
	case PLAIN:
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case SCRAMSHA256:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case SCRAMSHA512:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	}
}

// scramClient adapts xdg-go/scram, the SCRAM implementation sarama's
// documentation points to, to sarama's SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("SCRAM: %w", err)
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }

// ReadPassword returns the password in the file name, without the line
// end an editor adds.
func ReadPassword(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read Kafka password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
