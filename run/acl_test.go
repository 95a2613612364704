package run_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// On a broker with the wallet's ACLs, the API's principal may write
// requests but not instructions: a debit it writes straight into
// wallet.payment, which would credit the recipient without debiting
// anyone through paymentd, is refused with TOPIC_AUTHORIZATION_FAILED and
// moves no money. Needs the API principal's credentials in
// KAFKA_API_USERNAME and KAFKA_API_PASSWORD_FILE (make test-kafka sets
// them); its other settings (TLS, mechanism) are the tests' own.
func TestAPIPrincipalCannotWriteInstructions(t *testing.T) {
	user, file := os.Getenv("KAFKA_API_USERNAME"), os.Getenv("KAFKA_API_PASSWORD_FILE")
	if user == "" || file == "" {
		t.Skip("needs a broker with the wallet's ACLs and the API principal's credentials in KAFKA_API_USERNAME and KAFKA_API_PASSWORD_FILE (make test-kafka)")
	}
	brokers := brokers(t)
	c := config(t, brokers, 2)
	start(t, c, run.Processors)
	cl := startAPIs(t, c)

	prefix := "acl-" + uuid.NewString()[:6] + "-"
	from, to := prefix+"from", prefix+"to"
	signUp(t, cl, maxOverdraft, from, to)

	sec := c.Kafka.Security
	sec.Username = user
	password, err := kafka.ReadPassword(file)
	if err != nil {
		t.Fatal(err)
	}
	sec.Password = password
	opts, err := sec.KgoOpts()
	if err != nil {
		t.Fatal(err)
	}
	asAPI, err := kgo.NewClient(append(opts, kgo.SeedBrokers(brokers...))...)
	if err != nil {
		t.Fatal(err)
	}
	defer asAPI.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	debit := fmt.Sprintf(`{"request_id":%q,"kind":"debit","account":%q,"from":%q,"to":%q,"amount":"5.00"}`, uuid.NewString(), from, from, to)
	err = asAPI.ProduceSync(ctx, &kgo.Record{Topic: string(topology.Instructions), Key: []byte(from), Value: []byte(debit)}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("debit written to %s as %s: %v, want %v", topology.Instructions, user, err, kerr.TopicAuthorizationFailed)
	}

	// A transfer through the API as a marker: its debit follows, in the
	// sender's partition of wallet.payment, anything written there before.
	// Once it is applied, the balances are its alone.
	tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(100)}
	if status, body := post(t, cl, tr); status != 201 {
		t.Fatalf("POST = %d %s", status, body)
	}
	var want ledger.Ledger
	want.Apply(tr)
	waitBalances(t, cl, &want, 60*time.Second)
}
