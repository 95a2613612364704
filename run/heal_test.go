package run_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/damage"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// A local table is only a cache of its changelog: when its files are
// damaged, the processors move the partition aside and rebuild it from the
// changelog, with no restart by hand. Before each damage the processors
// are stopped and the accountant's table flushed to table files; after
// it, the transfers made must come out right on top of the balances from
// before. A truncated or deleted table file is found when the partition is
// opened; a garbled data block only when the accountant reads an account
// in it, which fails the processors, and their restart moves it aside.
func TestDamagedTableIsRebuilt(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	cl := startAPIs(t, c)
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprintf("heal-%d", i))
	}
	var want ledger.Ledger
	// On failure, say which transfers did not complete: the fault behind
	// this test's first failures was instructions lost while the accountant
	// stopped on a damaged table (processors.stored).
	var sentIDs []uuid.UUID
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, id := range sentIDs {
			s, found, err := cl.Transfer(context.Background(), id)
			if err != nil || !found || s.Status != wallet.Completed {
				t.Logf("transfer %s not completed: found %v, error %v, status %s %s", id, found, err, s.Status, s.Reason)
			}
		}
	})
	send := func(n int) {
		t.Helper()
		for i := range n {
			tr := wallet.Transfer{RequestID: uuid.New(), From: names[i%len(names)], To: names[(i+3)%len(names)], Amount: wallet.Cents(int64(100 + i))}
			if status, body := post(t, cl, tr); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(tr)
			sentIDs = append(sentIDs, tr.RequestID)
		}
	}

	_, stop := start(t, c, run.Processors)
	signUp(t, cl, maxOverdraft, names...)
	send(40)
	waitBalances(t, cl, &want, 60*time.Second)
	stop()

	for _, d := range damage.All {
		t.Run(d.Name, func(t *testing.T) {
			damaged := 0
			for p := range int32(c.Kafka.Partitions) {
				dir := filepath.Join(c.State, fmt.Sprintf("%s.%d", topology.AccountTable, p))
				flush(t, dir)
				if _, err := damage.TableFile(dir); err != nil {
					continue // no account in this partition
				}
				if err := d.Do(dir); err != nil {
					t.Fatal(err)
				}
				damaged++
			}
			if damaged == 0 {
				t.Fatal("no partition of the accountant's table has a table file to damage")
			}
			before := quarantined(t, c.State)

			began := time.Now()
			_, stop := start(t, c, run.Processors)
			send(40)
			waitBalances(t, cl, &want, 90*time.Second)
			stop()
			t.Logf("%s: %d partitions rebuilt, balances right after %s", d.Name, damaged, time.Since(began).Round(time.Millisecond))
			if got := quarantined(t, c.State) - before; got != damaged {
				t.Errorf("%d partitions moved aside, want the %d damaged", got, damaged)
			}
		})
	}
}

// flush makes RocksDB write what the database in dir holds in its
// write-ahead log into table files: opening a database replays the log
// into a table file.
func flush(t *testing.T, dir string) {
	t.Helper()
	st, err := rocksdb.Open(dir, rocksdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// quarantined returns how many partitions of the accountant's table were
// moved aside in the state directory dir.
func quarantined(t *testing.T, dir string) int {
	t.Helper()
	moved, err := filepath.Glob(filepath.Join(dir, string(topology.AccountTable)+".*.corrupt-*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range moved {
		if _, err := os.Stat(filepath.Join(m, "CURRENT")); err != nil {
			t.Errorf("partition moved aside to %s lost its files: %v", m, err)
		}
	}
	return len(moved)
}

// A view that finds its local copy damaged while it runs (a garbled data
// block, read by a GET) opens itself again, which moves the partition
// aside and recovers it from the changelog: the GETs that met the damage
// fail, and the balances come back right with no restart by hand.
func TestDamagedViewIsRebuiltWhileRunning(t *testing.T) {
	brokers := brokers(t)
	c := config(t, brokers, 2)
	start(t, c, run.Processors)
	view := withState(t, c)
	ready, stopView := start(t, view, run.View)
	cl := &api.Client{URL: "http://" + serve(t, withState(t, c), run.Emitter), ViewURL: "http://" + <-ready, Operator: operatorKey}
	names := []string{"view-heal-0", "view-heal-1", "view-heal-2", "view-heal-3"}
	signUp(t, cl, maxOverdraft, names...)
	var want ledger.Ledger
	for i := range 20 {
		tr := wallet.Transfer{RequestID: uuid.New(), From: names[i%len(names)], To: names[(i+1)%len(names)], Amount: wallet.Cents(int64(100 + i))}
		if status, body := post(t, cl, tr); status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		want.Apply(tr)
	}
	waitBalances(t, cl, &want, 60*time.Second)
	stopView()

	damaged := 0
	for p := range int32(c.Kafka.Partitions) {
		dir := filepath.Join(view.State, fmt.Sprintf("%s.%d", topology.AccountTable, p))
		flush(t, dir)
		if _, err := damage.TableFile(dir); err != nil {
			continue // no account in this partition
		}
		if err := damage.Garble(dir); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatal("no partition of the view's accountant table has a table file to damage")
	}

	ready, _ = start(t, view, run.View)
	cl.ViewURL = "http://" + <-ready
	waitBalances(t, cl, &want, 90*time.Second)
	if got := quarantined(t, view.State); got != damaged {
		t.Errorf("%d partitions moved aside, want the %d damaged", got, damaged)
	}
}
