// Package audit holds the wallet's auditor. Once the pipeline has
// drained, it reads the tables and the accountant's changelog from Kafka
// and checks the books against the design's rule 13: every transfer final;
// every account's balance exactly what its completed transfers moved (so a
// completed transfer moved its amount once and a rejected one nothing);
// no version of any account ever written below minus its overdraft limit;
// every open account owned by one signup; the balances, World's included,
// summing to 0.00. It also reports how far behind each processor group is.
package audit

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/topology"
	"github.com/wallet/wallet/views"
)

// Report is what the auditor found.
type Report struct {
	// Accounts is the number of accounts the accountant keeps state of,
	// Owners the number of usernames signed up.
	Accounts, Owners int
	Sum              wallet.Money
	// Transfers counts the transfers by status and reason ("completed",
	// "rejected insufficient_funds", "pending").
	Transfers map[string]int
	// ChangelogRecords is the number of account versions read from the
	// accountant's changelog, ChangelogBytes their size.
	ChangelogRecords, ChangelogBytes int64
	Lag                              []kafka.Lag
	DeadLetters                      int64
	// Drained is true when no group had lag when the tables were read.
	Drained bool
	// Violations lists every breach of the rules found, one line each.
	Violations []string
}

// OK reports whether the books balance: the pipeline drained, nothing
// pending, no violation, and the balances summing to zero.
func (r Report) OK() bool {
	return r.Drained && r.Transfers[string(wallet.Pending)] == 0 && len(r.Violations) == 0 && r.Sum.IsZero()
}

// Print writes the report for a person.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "accounts: %d (usernames signed up: %d)\n", r.Accounts, r.Owners)
	fmt.Fprintf(w, "sum of balances: %s\n", r.Sum)
	statuses := slices.Sorted(maps.Keys(r.Transfers))
	for _, s := range statuses {
		fmt.Fprintf(w, "transfers %s: %d\n", s, r.Transfers[s])
	}
	fmt.Fprintf(w, "account versions in the changelog: %d (%d bytes)\n", r.ChangelogRecords, r.ChangelogBytes)
	fmt.Fprintf(w, "dead letters: %d\n", r.DeadLetters)
	for _, l := range r.Lag {
		fmt.Fprintf(w, "lag %s %s/%d: %d (committed %d, end %d)\n", l.Group, l.Topic, l.Partition, l.Messages(), l.Committed, l.End)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "VIOLATION: %s\n", v)
	}
	switch {
	case !r.Drained:
		fmt.Fprintln(w, "NOT DRAINED: the processors still have messages to process; the sums are not final")
	case r.Transfers[string(wallet.Pending)] > 0:
		fmt.Fprintln(w, "NOT FINAL: transfers are still pending")
	case !r.Sum.IsZero():
		fmt.Fprintln(w, "VIOLATION: the balances do not sum to 0.00")
	case len(r.Violations) > 0:
	default:
		fmt.Fprintln(w, "OK")
	}
}

// Run waits up to drainTimeout for every group to have no lag, then reads
// the tables and the accountant's changelog and checks the books.
func Run(ctx context.Context, c kafka.Config, drainTimeout time.Duration) (Report, error) {
	if err := c.Ping(); err != nil {
		return Report{}, err
	}
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return Report{}, fmt.Errorf("connect to Kafka: %w", err)
	}
	defer client.Close()

	var r Report
	deadline := time.Now().Add(drainTimeout)
	for {
		r.Lag, err = kafka.Lags(client)
		if err != nil {
			return Report{}, err
		}
		r.Drained = true
		for _, l := range r.Lag {
			r.Drained = r.Drained && l.Messages() == 0
		}
		if r.Drained || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return Report{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if r.DeadLetters, err = endOffsets(client, topology.DeadLetters); err != nil {
		return Report{}, err
	}

	state, err := os.MkdirTemp("", "wallet-audit-")
	if err != nil {
		return Report{}, fmt.Errorf("create audit state: %w", err)
	}
	defer os.RemoveAll(state)
	if err := r.readTables(ctx, c, state); err != nil {
		return Report{}, err
	}
	if err := r.readVersions(client, c); err != nil {
		return Report{}, err
	}
	return r, nil
}

// readTables reads the three tables into fresh local copies in state and
// checks them against one another.
func (r *Report) readTables(ctx context.Context, c kafka.Config, state string) error {
	opts := append(c.ViewOptions(), goka.WithViewStorageBuilder(rocksdb.Builder(state, rocksdb.Options{})))
	signups, err := views.NewSignups(c.Brokers, opts...)
	if err != nil {
		return err
	}
	transfers, err := views.NewTransfers(c.Brokers, opts...)
	if err != nil {
		return err
	}
	accounts, err := views.NewAccounts(c.Brokers, opts...)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return signups.Run(gctx) })
	g.Go(func() error { return transfers.Run(gctx) })
	g.Go(func() error { return accounts.Run(gctx) })
	defer func() {
		stop()
		g.Wait()
	}()
	for !signups.Recovered() || !transfers.Recovered() || !accounts.Recovered() {
		select {
		case <-gctx.Done():
			return fmt.Errorf("read the tables: %w", g.Wait())
		case <-time.After(100 * time.Millisecond):
		}
	}

	// What each account's completed transfers moved.
	moved := map[string]wallet.Money{}
	r.Transfers = map[string]int{}
	err = transfers.Each(func(s wallet.TransferState) error {
		r.Transfers[strings.TrimSpace(string(s.Status)+" "+s.Reason)]++
		if s.Status == wallet.Completed {
			from, _ := wallet.AccountKey(s.From)
			to, _ := wallet.AccountKey(s.To)
			moved[from], moved[to] = moved[from].Sub(s.Amount), moved[to].Add(s.Amount)
		}
		return nil
	})
	if err != nil {
		return err
	}
	owners, err := signups.After("", math.MaxInt)
	if err != nil {
		return err
	}
	r.Owners = len(owners)
	owner := map[string]wallet.Signup{}
	for _, k := range owners {
		owner[k.Key] = k.Signup
	}
	err = accounts.Each(func(key string, a wallet.Account) error {
		r.Accounts++
		r.Sum = r.Sum.Add(a.Balance)
		if !a.Balance.Equal(moved[key]) {
			r.Violations = append(r.Violations, fmt.Sprintf("account %s has %s, but its completed transfers moved %s", key, a.Balance, moved[key]))
		}
		delete(moved, key)
		if s, ok := owner[key]; a.Open && (!ok || !s.OverdraftLimit.Equal(a.OverdraftLimit)) {
			r.Violations = append(r.Violations, fmt.Sprintf("account %s is open with limit %s without a signup that says so", key, a.OverdraftLimit))
		}
		return nil
	})
	for key, m := range moved {
		if !m.IsZero() {
			r.Violations = append(r.Violations, fmt.Sprintf("account %s has no state, but its completed transfers moved %s", key, m))
		}
	}
	return err
}

// readVersions reads every version of every account that the accountant
// ever wrote to its changelog, still there, and checks that none is below
// minus its overdraft limit.
func (r *Report) readVersions(client sarama.Client, c kafka.Config) error {
	topic := string(topology.AccountTable)
	parts, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", topic, err)
	}
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
		}
		err = c.ReadPartition(topic, p, 0, end, 10*time.Minute, func(offset int64, key string, value []byte) {
			r.ChangelogRecords++
			r.ChangelogBytes += int64(len(key) + len(value))
			v, err := topology.AccountCodec.Decode(value)
			if err != nil {
				r.Violations = append(r.Violations, fmt.Sprintf("%s/%d@%d: %v", topic, p, offset, err))
				return
			}
			a := v.(wallet.Account)
			if key != wallet.World && a.Balance.LessThan(a.OverdraftLimit.Neg()) {
				r.Violations = append(r.Violations, fmt.Sprintf("%s/%d@%d: account %s at %s, below minus its limit %s", topic, p, offset, key, a.Balance, a.OverdraftLimit))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// endOffsets sums the end offsets of a topic's partitions.
func endOffsets(client sarama.Client, topic goka.Stream) (int64, error) {
	parts, err := client.Partitions(string(topic))
	if err != nil {
		return 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	var n int64
	for _, p := range parts {
		end, err := client.GetOffset(string(topic), p, sarama.OffsetNewest)
		if err != nil {
			return 0, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
		}
		n += end
	}
	return n, nil
}
