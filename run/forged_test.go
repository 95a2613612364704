package run_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/audit"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// Table records written by a principal that may write the tables, which
// only the processors' may (README, Secured Kafka), as a review forged
// them against version 2. Every reader, the processors recovering and the
// views, applies the processors' rules to each record it reads (DESIGN.md,
// rule 14): what no processor could have written is ignored, the newest
// honest version stays, and what the API answers and the books stay
// right. The auditor reports each forgery.
func TestForgedTableRecordsAreIgnored(t *testing.T) {
	brokers := embeddedBroker(t) // the tables get records no processor wrote
	c := config(t, brokers, 2)
	_, stop := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	var want ledger.Ledger
	alice, bob, carol, dave := names("forge-alice-", 1)[0], names("forge-bob-", 1)[0], names("forge-carol-", 1)[0], names("forge-dave-", 1)[0]
	garbled := uuid.New()
	aliceClaim := wallet.Claim{RequestID: uuid.New(), Username: alice}
	postClaim(t, cl, aliceClaim)
	signUp(t, cl, wallet.Money{}, bob, carol)
	deposit(t, cl, &want, alice, wallet.MustParseMoney("10.00"))
	paid := wallet.Transfer{RequestID: uuid.New(), From: alice, To: bob, Amount: wallet.MustParseMoney("2.00")}
	if status, body := post(t, cl, paid); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	want.Apply(paid)
	waitFinal(t, cl, paid.RequestID, wallet.Completed, "")
	waitBalances(t, cl, &want, time.Minute)
	forgedBefore := processors.ForgedRecords()

	table := func(tbl goka.Table, key string, value []byte) *kgo.Record {
		return &kgo.Record{Topic: string(tbl), Partition: topology.Partition(key, c.Kafka.Partitions), Key: []byte(key), Value: value}
	}
	encode := func(codec interface{ Encode(any) ([]byte, error) }, v any) []byte {
		b, err := codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Alice's signup, with another owner, in the partition that is not
	// hers.
	elsewhere := table(topology.SignupTable, alice, encode(topology.SignupCodec, wallet.Signup{Claim: wallet.Claim{RequestID: uuid.New(), Username: alice}, Offset: 0}))
	elsewhere.Partition = (elsewhere.Partition + 1) % int32(c.Kafka.Partitions)
	produce(t, brokers,
		// Alice's account at 1,000,000.00, with a version beyond the end
		// of her partition of wallet.payment: it would win over every
		// honest version for ever.
		table(topology.AccountTable, alice, encode(topology.AccountCodec, wallet.Account{Open: true, Balance: wallet.MustParseMoney("1000000.00"), NextOffset: 1 << 40})),
		// The completed transfer as rejected, beyond the end.
		table(topology.TransferTable, paid.RequestID.String(), encode(topology.TransferStateCodec, wallet.TransferState{Transfer: paid, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds, NextOffset: 1 << 40})),
		// Carol's name freed by a tombstone.
		table(topology.SignupTable, carol, nil),
		// Alice's name won by another owner with an overdraft limit of
		// 1000.00, beyond the end.
		table(topology.SignupTable, alice, encode(topology.SignupCodec, wallet.Signup{Claim: wallet.Claim{RequestID: uuid.New(), Username: strings.ToUpper(alice), OverdraftLimit: wallet.MustParseMoney("1000.00")}, Offset: 1 << 40})),
		elsewhere,
		// An old version of Bob's account, after the newer ones.
		table(topology.AccountTable, bob, encode(topology.AccountCodec, wallet.Account{Open: true, NextOffset: 1})),
		// Values that do not decode: a name, and a transfer.
		table(topology.SignupTable, dave, []byte("\x00not a signup")),
		table(topology.TransferTable, garbled.String(), []byte("\x00not a transfer")),
	)

	// The views read them, ignore them, and go on answering.
	waitForged(t, forgedBefore+5)
	more := wallet.Transfer{RequestID: uuid.New(), From: alice, To: bob, Amount: wallet.MustParseMoney("1.00")}
	if status, body := post(t, cl, more); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	want.Apply(more)
	waitBalances(t, cl, &want, time.Minute)
	wantAnswers := func(t *testing.T) {
		t.Helper()
		if tr, _, err := cl.Transfer(context.Background(), paid.RequestID); err != nil || tr.Status != wallet.Completed {
			t.Errorf("GET the paid transfer: %+v, %v; want completed", tr, err)
		}
		if a, err := cl.PostTransfer(context.Background(), paid); err != nil || a.Status != http.StatusCreated {
			t.Errorf("the paid transfer posted again: %d %s %v, want 201", a.Status, a.Body, err)
		}
		if acct, found, err := cl.Account(context.Background(), alice); err != nil || !found || acct.Account != alice || acct.OverdraftLimit == nil || !acct.OverdraftLimit.IsZero() {
			t.Errorf("GET %s: %+v, %v, %v; want her own signup, limit 0.00", alice, acct, found, err)
		}
		if _, found, err := cl.Account(context.Background(), carol); err != nil || !found {
			t.Errorf("GET %s: %v, %v; want the account", carol, found, err)
		}
		// A value that does not decode makes its key unavailable, and
		// nothing else.
		var answered *api.StatusError
		if _, _, err := cl.Account(context.Background(), dave); !errors.As(err, &answered) || answered.Status != http.StatusServiceUnavailable {
			t.Errorf("GET %s, whose signup does not decode: %v, want 503", dave, err)
		}
		page := listAccounts(t, cl)
		if n := strings.Count(page, `"account":"`+alice+`"`); n != 1 {
			t.Errorf("the list of accounts names %s %d times, want once: %s", alice, n, page)
		}
		if strings.Contains(page, dave) || !strings.Contains(page, bob) {
			t.Errorf("the list of accounts: %s; want %s and not %s", page, bob, dave)
		}
	}
	wantAnswers(t)

	// Processors recovering every partition from the changelogs ignore
	// them too: the freed name stays taken, and its owner keeps it.
	stop()
	start(t, withState(t, c), run.Processors)
	if a, err := cl.PostAccount(context.Background(), wallet.Claim{RequestID: uuid.New(), Username: carol}); err != nil || a.Status != http.StatusConflict {
		t.Errorf("another claim of %s after its tombstone: %d %s %v, want 409", carol, a.Status, a.Body, err)
	}
	postClaim(t, cl, aliceClaim)
	last := wallet.Transfer{RequestID: uuid.New(), From: alice, To: carol, Amount: wallet.MustParseMoney("3.00")}
	if status, body := post(t, cl, last); status != http.StatusCreated {
		t.Fatalf("POST = %d %s", status, body)
	}
	want.Apply(last)
	waitFinal(t, cl, last.RequestID, wallet.Completed, "")
	waitBalances(t, cl, &want, time.Minute)
	wantAnswers(t)

	// The auditor finds the books right, and reports the forgeries.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := audit.Run(ctx, c.Kafka, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.Print(&b)
	report := b.String()
	if !r.Sum.IsZero() || r.Transfers[string(wallet.Pending)] != 0 || r.OK() || !strings.Contains(report, "table records that no processor wrote") ||
		!strings.Contains(report, "signup "+dave+": ") || !strings.Contains(report, "transfer "+garbled.String()+": ") {
		t.Errorf("the auditor's report:\n%s\nwant the books right, and the forgeries and the values that do not decode reported", report)
	}
	for _, v := range r.Violations {
		if !strings.Contains(v, "table records that no processor wrote") && !strings.Contains(v, dave) && !strings.Contains(v, garbled.String()) {
			t.Errorf("violation %q: the books should be right", v)
		}
	}
}

// waitForged waits until this process has ignored n forged records.
func waitForged(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for processors.ForgedRecords() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d forged records ignored after 30s, want %d", processors.ForgedRecords(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listAccounts returns the body of GET /api/v1/accounts?limit=1000.
func listAccounts(t *testing.T, cl *api.Client) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cl.ViewURL+"/api/v1/accounts?limit=1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cl.Operator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/accounts: %d %s", resp.StatusCode, b.String())
	}
	return b.String()
}
