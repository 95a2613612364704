package run_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// TestLateStaleTableWriteIsIgnored reproduces what a zombie does: an
// accountant instance that lost its partition (its session expired while
// it was stalled, or its producer retried after a broker restart) writes
// an old version of an account to the changelog after the new owner wrote
// a newer one. Neither the view nor a new owner recovering the partition
// may take that last record for the account's state: the view would show
// an old balance, and the owner would apply later payments on top of it,
// losing the ones in between for good.
func TestLateStaleTableWriteIsIgnored(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	_, stopFirst := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	var want ledger.Ledger
	from, to := "zombie-"+uuid.NewString()[:8], "zombie-"+uuid.NewString()[:8]
	signUp(t, cl, maxOverdraft, from, to)
	transfer := func(cents int64) {
		t.Helper()
		tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(cents)}
		if status, body := post(t, cl, tr); status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		want.Apply(tr)
	}

	transfer(100)
	waitBalances(t, cl, &want, 60*time.Second) // from -1.00, to 1.00
	old := firstTableRecord(t, brokers, to)
	transfer(200)
	waitBalances(t, cl, &want, 60*time.Second) // from -3.00, to 3.00

	// The zombie's write: the first version of the account, again, last.
	staleBefore := processors.StaleRecords()
	raw, err := kgoClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	late := &kgo.Record{Topic: old.Topic, Partition: old.Partition, Key: old.Key, Value: old.Value}
	if err := raw.ProduceSync(ctx, late).FirstErr(); err != nil {
		t.Fatalf("produce the stale version: %v", err)
	}
	waitStale(t, staleBefore+1) // the view read it
	if got := balance(t, cl, to); got != "3.00" {
		t.Errorf("after the stale write the view shows %s at %s, want 3.00", to, got)
	}

	// A new owner recovers the partition from a changelog whose last
	// record for the account is the stale one, then applies a payment.
	stopFirst()
	start(t, withState(t, c), run.Processors)
	transfer(400)
	waitBalances(t, cl, &want, 60*time.Second) // from -7.00, to 7.00
	if got := processors.StaleRecords(); got < staleBefore+2 {
		t.Errorf("%d stale records ignored, want the view's and the new owner's (%d)", got-staleBefore, 2)
	}
}

// firstTableRecord returns the first record of account in the accountant's
// changelog.
func firstTableRecord(t *testing.T, brokers []string, account string) *kgo.Record {
	t.Helper()
	consumer, err := kgoClient(t, brokers,
		kgo.ConsumeTopics(string(topology.AccountTable)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		var found *kgo.Record
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if found == nil && string(r.Key) == account {
				found = r
			}
		})
		if found != nil {
			return found
		}
	}
	t.Fatalf("no record of %s in %s", account, topology.AccountTable)
	return nil
}

// waitStale waits until this process has ignored at least n stale
// records of the accountant table.
func waitStale(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for processors.StaleRecords() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d stale records ignored after 30s, want %d", processors.StaleRecords(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCopyAfterFailoverIsRecognised: after a crash the accountant emits
// again the credits of the debits it had not committed, and the copies
// reach the recipient's partition after the failover, at later offsets.
// The account's state keeps no history to recognise them by: a new
// accountant instance rebuilds the partition's window from the messages
// before its first one and recognises the copy.
func TestCopyAfterFailoverIsRecognised(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	_, stopFirst := start(t, c, run.Processors)
	cl := startAPIs(t, c)
	var want ledger.Ledger
	from, to := "copy-"+uuid.NewString()[:8], "copy-"+uuid.NewString()[:8]
	signUp(t, cl, maxOverdraft, from, to)
	transfer := func(cents int64) wallet.Transfer {
		t.Helper()
		tr := wallet.Transfer{RequestID: uuid.New(), From: from, To: to, Amount: wallet.Cents(cents)}
		if status, body := post(t, cl, tr); status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		want.Apply(tr)
		return tr
	}
	first := transfer(100)
	transfer(200)
	waitBalances(t, cl, &want, 60*time.Second) // from -3.00, to 3.00
	stopFirst()

	// The accountant's copy of the first transfer's credit, as after a crash.
	raw, err := kgoClient(t, brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	value, err := topology.InstructionCodec.Encode(first.Debit().Next())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := raw.ProduceSync(ctx, &kgo.Record{Topic: string(topology.Payments), Key: []byte(to), Value: value}).FirstErr(); err != nil {
		t.Fatalf("produce the copy: %v", err)
	}

	start(t, withState(t, c), run.Processors)
	transfer(400) // applied after the copy: its credit follows it in the partition
	waitBalances(t, cl, &want, 60*time.Second)
}
