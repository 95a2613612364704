package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/audit"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// model predicts each transfer's outcome when transfers are decided one
// after the other, as the test sends them: debit first, then the credit.
type model struct {
	open    map[string]bool
	limit   map[string]wallet.Money
	balance map[string]wallet.Money
}

func (m *model) signUp(name string, limit wallet.Money) {
	key, _ := wallet.AccountKey(name)
	m.open[key], m.limit[key] = true, limit
}

// decide returns the transfer's outcome and applies it.
func (m *model) decide(t wallet.Transfer) (wallet.Status, string) {
	from, _ := wallet.AccountKey(t.From)
	to, _ := wallet.AccountKey(t.To)
	after := m.balance[from].Sub(t.Amount)
	switch {
	case from != wallet.World && !m.open[from]:
		return wallet.Rejected, wallet.ReasonAccountNotFound
	case from != wallet.World && after.LessThan(m.limit[from].Neg()):
		return wallet.Rejected, wallet.ReasonInsufficientFunds
	case to != wallet.World && !m.open[to]:
		return wallet.Rejected, wallet.ReasonAccountNotFound // refunded
	}
	m.balance[from], m.balance[to] = after, m.balance[to].Add(t.Amount)
	return wallet.Completed, ""
}

// The primer's story with a deposit first, then 500 random transfers among
// 20 accounts with overdraft attempts, transfers to names never signed up
// and re-posts: every status final and as the model says, every balance
// exact, the sum 0.00, and the auditor's checks pass (no version of an
// account ever below its limit).
func TestPrimerAndRandomTransfers(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	start(t, c, run.Processors)
	cl := startAPIs(t, c)
	cl.Wait = 30 * time.Second
	ctx := context.Background()
	m := &model{open: map[string]bool{}, limit: map[string]wallet.Money{}, balance: map[string]wallet.Money{}}
	var want ledger.Ledger
	world := startWorld(t, cl, &want)

	signUp(t, cl, wallet.Money{}, "Alice", "Bob")
	m.signUp("Alice", wallet.Money{})
	m.signUp("Bob", wallet.Money{})
	deposit := uuid.New()
	if a, err := cl.Deposit(ctx, deposit, "Alice", wallet.Cents(100)); err != nil || a.Status != http.StatusCreated || !bytes.Contains(a.Body, []byte(`"status":"completed"`)) {
		t.Fatalf("deposit = %d %s %v, want 201 completed", a.Status, a.Body, err)
	}
	m.decide(wallet.Transfer{RequestID: deposit, From: wallet.World, To: "Alice", Amount: wallet.Cents(100)})
	want.Add(0, wallet.World, "Alice", 100)

	// The primer's curl answers as it always did: 201 with the seed's body.
	primer := wallet.Transfer{RequestID: uuid.MustParse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	noWait := *cl
	noWait.Wait = 0
	status, body := post(t, &noWait, primer)
	want201 := `{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","amount":"0.50","to":"Bob"}`
	if status != http.StatusCreated || body != want201 {
		t.Fatalf("POST primer = %d %s, want 201 %s", status, body, want201)
	}
	m.decide(primer)
	want.Add(1, "Alice", "Bob", 50)
	waitFinal(t, cl, primer.RequestID, wallet.Completed, "")
	waitBalances(t, cl, &want, 60*time.Second) // Alice 0.50, Bob 0.50, @world -1.00

	rng := rand.New(rand.NewPCG(1, 2))
	accounts := make([]string, 20)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("acct-%02d", i)
		limit := wallet.Cents(int64(i%4) * 2500) // 0.00, 25.00, 50.00, 75.00
		signUp(t, cl, limit, accounts[i])
		m.signUp(accounts[i], limit)
		id := uuid.New()
		amount := wallet.Cents(1 + rng.Int64N(20000))
		if a, err := cl.Deposit(ctx, id, accounts[i], amount); err != nil || a.Status != http.StatusCreated {
			t.Fatalf("deposit to %s = %d %s %v", accounts[i], a.Status, a.Body, err)
		}
		m.decide(wallet.Transfer{RequestID: id, From: wallet.World, To: accounts[i], Amount: amount})
		want.Add(2+i, wallet.World, accounts[i], amount.Cents())
	}

	raw, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	type sentTransfer struct {
		t      wallet.Transfer
		status wallet.Status
		reason string
	}
	var sent []sentTransfer
	counts := map[string]int{}
	for i := 0; i < 500; i++ {
		from := accounts[rng.IntN(len(accounts))]
		to := accounts[rng.IntN(len(accounts))]
		for to == from {
			to = accounts[rng.IntN(len(accounts))]
		}
		viaKafka := false
		if rng.IntN(10) == 0 {
			// A name never signed up: the API refuses it at once (its
			// courtesy check), so write it as any producer may, to the
			// request log, for the saga to refund.
			to, viaKafka = fmt.Sprintf("ghost-%02d", i%7), true
		}
		tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(1 + rng.Int64N(10000))}
		wantStatus, wantReason := m.decide(tr)
		if viaKafka {
			value, _ := topology.TransferLogCodec.Encode(tr)
			if err := raw.ProduceSync(ctx, &kgo.Record{Topic: string(topology.TransferRequests), Key: []byte(tr.RequestID.String()), Value: value}).FirstErr(); err != nil {
				t.Fatalf("produce %+v: %v", tr, err)
			}
			waitFinal(t, cl, tr.RequestID, wantStatus, wantReason)
		} else {
			postAndExpect(t, cl, tr, wantStatus, wantReason)
		}
		sent = append(sent, sentTransfer{tr, wantStatus, wantReason})
		counts[string(wantStatus)+" "+wantReason]++
		if wantStatus == wallet.Completed {
			want.Add(len(sent)+100, tr.From, tr.To, tr.Amount.Cents())
		}
		if rng.IntN(10) == 0 { // a re-post of an earlier transfer answers as the first time
			dup := sent[rng.IntN(len(sent))]
			if !viaKafka && !strings.HasPrefix(dup.t.To, "ghost") {
				postAndExpect(t, cl, dup.t, dup.status, dup.reason)
			}
		}
	}
	t.Logf("outcomes: %v", counts)
	if counts["completed "] < 100 || counts["rejected insufficient_funds"] < 50 || counts["rejected account_not_found"] < 20 {
		t.Errorf("outcomes %v: the random transfers should complete, overdraw and miss often", counts)
	}
	waitBalances(t, cl, &want, 60*time.Second)
	for _, s := range sent {
		tr, found, err := cl.Transfer(ctx, s.t.RequestID)
		if err != nil || !found || tr.Status != s.status || tr.Reason != s.reason {
			t.Errorf("GET transfer %s = %+v, %v, %v; want %s %s", s.t.RequestID, tr, found, err, s.status, s.reason)
		}
	}
	if want.Sum() != world {
		t.Errorf("the ledger sums to %d cents, want World's start, %d", want.Sum(), world)
	}

	report, err := audit.Run(ctx, c.Kafka, 30*time.Second)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if !report.OK() || report.Accounts < want.Len() {
		var b bytes.Buffer
		report.Print(&b)
		t.Errorf("audit of %d accounts failed:\n%s", want.Len(), b.String())
	}
}

// postAndExpect posts tr, waiting for its outcome, and fails unless it is
// the one given.
func postAndExpect(t *testing.T, cl *api.Client, tr wallet.Transfer, status wallet.Status, reason string) {
	t.Helper()
	a, err := cl.PostTransfer(context.Background(), tr)
	if err != nil {
		t.Fatalf("POST %+v: %v", tr, err)
	}
	got, err := a.TransferResponse()
	if a.Status != http.StatusCreated || err != nil || got.Status != status || got.Reason != reason {
		t.Fatalf("POST %s -> %s %s = %d %s, want 201 %s %s", tr.From, tr.To, tr.Amount, a.Status, a.Body, status, reason)
	}
}

// waitFinal polls GET /api/v1/transfers/{id} until the transfer is final
// and fails unless it ended as given.
func waitFinal(t *testing.T, cl *api.Client, id uuid.UUID, status wallet.Status, reason string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr, found, err := cl.Transfer(context.Background(), id)
		var answered *api.StatusError
		if err != nil && !errors.As(err, &answered) { // a view recovering answers 503
			t.Fatalf("GET transfer %s: %v", id, err)
		}
		if found && tr.Status.Final() {
			if tr.Status != status || tr.Reason != reason {
				t.Fatalf("transfer %s ended %s %s, want %s %s", id, tr.Status, tr.Reason, status, reason)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transfer %s not final after 30s: %+v", id, tr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
