package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wallet/wallet/kafka"
)

// selfSigned returns a TLS server configuration for 127.0.0.1 and the
// file holding its certificate, for clients to trust.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wallet test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"broker.test"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}

// Every command reaches a broker that takes only TLS and SASL, with each
// mechanism, and a wrong setting fails at Ping with a message.
func TestSecuredBroker(t *testing.T) {
	server, caFile := selfSigned(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(server), kfake.EnableSASL(),
		kfake.Superuser(kafka.PLAIN, "plain", "plain-secret"),
		kfake.Superuser(kafka.SCRAMSHA256, "scram256", "scram256-secret"),
		kfake.Superuser(kafka.SCRAMSHA512, "scram512", "scram512-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	secure := kafka.Security{TLS: true, CAFile: caFile}
	with := func(mechanism, user, password string) kafka.Security {
		s := secure
		s.Mechanism, s.Username, s.Password = mechanism, user, password
		return s
	}
	tests := []struct {
		name     string
		security kafka.Security
		wantErr  string // "" for none
	}{
		{"PLAIN", with(kafka.PLAIN, "plain", "plain-secret"), ""},
		{"SCRAM-SHA-256", with(kafka.SCRAMSHA256, "scram256", "scram256-secret"), ""},
		{"SCRAM-SHA-512", with(kafka.SCRAMSHA512, "scram512", "scram512-secret"), ""},
		{"server name", func() kafka.Security {
			s := with(kafka.SCRAMSHA512, "scram512", "scram512-secret")
			s.ServerName = "broker.test"
			return s
		}(), ""},
		{"wrong password", with(kafka.SCRAMSHA512, "scram512", "guess"), "cannot reach Kafka"},
		{"no SASL", secure, "cannot reach Kafka"},
		{"no TLS", kafka.Security{Mechanism: kafka.SCRAMSHA512, Username: "scram512", Password: "scram512-secret"}, "cannot reach Kafka"},
		{"untrusted certificate", kafka.Security{TLS: true, Mechanism: kafka.SCRAMSHA512, Username: "scram512", Password: "scram512-secret"}, "cannot reach Kafka"},
		{"no password", with(kafka.SCRAMSHA512, "scram512", ""), "needs a username"},
		{"unknown mechanism", with("GSSAPI", "x", "y"), `SASL mechanism "GSSAPI"`},
		{"missing CA file", kafka.Security{TLS: true, CAFile: "/nonexistent/ca.pem"}, "read Kafka CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := kafka.Config{Brokers: c.ListenAddrs(), Partitions: 2, Security: tt.security}
			err := kc.Ping()
			if err == nil && tt.wantErr == "" {
				err = kc.EnsureTopics()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
