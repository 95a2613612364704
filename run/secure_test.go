package run_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// On the embedded broker given credentials, each service runs as the
// principal of its role with that role's ACLs (kafka.ACLs), and the broker
// holds the trust boundary: the API's principal, which writes the request
// logs, cannot write an instruction or a table record.
func TestSecuredBrokerHoldsTheTrustBoundary(t *testing.T) {
	passwords := map[kafka.Role]string{}
	for _, r := range kafka.Roles {
		passwords[r] = uuid.NewString()
	}
	o := broker.DefaultOptions()
	o.Users = passwords
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	base := config(t, []string{b.Addr()}, 2)
	as := func(r kafka.Role) run.Config {
		c := withState(t, base)
		c.Kafka.Security = kafka.Security{Mechanism: kafka.SCRAMSHA512, Username: broker.PrincipalPrefix + string(r), Password: passwords[r]}
		return c
	}

	// Only the admin may create the topics.
	if err := run.Topics(context.Background(), as(kafka.Processor)); err == nil {
		t.Fatal("the processors' principal created the topics")
	}
	if err := run.Topics(context.Background(), as(kafka.Admin)); err != nil {
		t.Fatalf("create topics as the admin: %v", err)
	}

	start(t, as(kafka.Processor), run.Processors)
	cl := &api.Client{URL: "http://" + serve(t, as(kafka.API), run.Emitter), ViewURL: "http://" + serve(t, as(kafka.View), run.View), Operator: operatorKey}
	signUp(t, cl, maxOverdraft, "secure-alice", "secure-bob")
	tr := wallet.Transfer{RequestID: uuid.New(), From: "secure-alice", To: "secure-bob", Amount: wallet.Cents(250)}
	if status, body := post(t, cl, tr); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	var want ledger.Ledger
	want.Apply(tr)
	waitBalances(t, cl, &want, time.Minute)

	// The API's principal forges a credit and a table record.
	sec, err := as(kafka.API).Kafka.Security.KgoOpts()
	if err != nil {
		t.Fatal(err)
	}
	forger, err := kgo.NewClient(append(sec, kgo.SeedBrokers(b.Addr()), kgo.RecordRetries(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	credit := wallet.Instruction{RequestID: uuid.New(), Kind: wallet.Credit, Account: "secure-bob", From: "secure-alice", To: "secure-bob", Amount: wallet.Cents(1_000_000)}
	raw, err := topology.InstructionCodec.Encode(credit)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*kgo.Record{
		{Topic: string(topology.Instructions), Key: []byte("secure-bob"), Value: raw},
		{Topic: string(topology.AccountTable), Key: []byte("secure-bob"), Value: nil},
	} {
		err := forger.ProduceSync(ctx, r).FirstErr()
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("the API's principal wrote to %s: %v, want TOPIC_AUTHORIZATION_FAILED", r.Topic, err)
		}
	}
	time.Sleep(2 * time.Second)
	waitBalances(t, cl, &want, time.Second) // nothing changed
}
