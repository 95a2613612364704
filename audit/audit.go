// Package audit holds the wallet's auditor. Once the pipeline has
// drained, it reads the tables and the accountant's changelog from Kafka
// and checks the books against the design's rules 9 and 13: every
// transfer final; every account's balance exactly what its completed
// transfers moved (so a completed transfer moved its amount once and a
// rejected one nothing); no version of any account ever written below
// minus its overdraft limit; every open account owned by one signup; the
// balances, World's included, summing to 0.00; every name won by its
// first claim in wallet.signup_request, with one winner in the signup
// changelog. It reads the tables as the processors and views do
// (processors.Bounds), and reports every record they would refuse as
// forged, and every value that does not decode, as a violation. It also
// reports how far behind each processor group is.
package audit

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"golang.org/x/sync/errgroup"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/processors"
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
	// Notes lists what breaks no rule of the books but needs a person:
	// table records that did not decode but were repaired by a later good
	// record.
	Notes []string
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
		open := ""
		if l.Open {
			open = ", a transaction open"
		}
		fmt.Fprintf(w, "lag %s %s/%d: %d (committed %d, end %d%s)\n", l.Group, l.Topic, l.Partition, l.Messages(), l.Committed, l.End, open)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "NOTE: %s\n", n)
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

	// The partitions the topics have, whatever the flags say: every
	// check of a key's partition depends on it.
	parts, err := client.Partitions(string(topology.SignupRequests))
	if err != nil {
		return Report{}, fmt.Errorf("partitions of %s: %w", topology.SignupRequests, err)
	}
	c.Partitions = len(parts)

	var r Report
	deadline := time.Now().Add(drainTimeout)
	for {
		r.Lag, err = c.Lags()
		if err != nil {
			return Report{}, err
		}
		r.Drained = true
		for _, l := range r.Lag {
			r.Drained = r.Drained && l.Drained()
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
	if err := r.readVersions(c); err != nil {
		return Report{}, err
	}
	if err := r.checkClaims(c); err != nil {
		return Report{}, err
	}
	return r, nil
}

// readTables reads the three tables into fresh local copies in state, as
// the views do, and checks them against one another.
func (r *Report) readTables(ctx context.Context, c kafka.Config, state string) error {
	bounds := processors.Bounds{
		Partitions: c.Partitions,
		End: func(topic goka.Stream, partition int32) (int64, error) {
			return c.EndOffset(string(topic), partition)
		},
	}
	forgedBefore, undecodableBefore := processors.ForgedRecords(), processors.UndecodableRecords()
	opts := append(c.ViewOptions(), goka.WithViewStorageBuilder(rocksdb.Builder(state, rocksdb.Options{})))
	signups, err := views.NewSignups(c.Brokers, bounds, opts...)
	if err != nil {
		return err
	}
	transfers, err := views.NewTransfers(c.Brokers, bounds, opts...)
	if err != nil {
		return err
	}
	accounts, err := views.NewAccounts(c.Brokers, bounds, opts...)
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
	if n := processors.ForgedRecords() - forgedBefore; n > 0 {
		r.Violations = append(r.Violations, fmt.Sprintf("%d table records that no processor wrote, which every reader ignores (tombstones, keys in the wrong partition, versions beyond the end of their input, second winners of a name): only processors may write the tables (README, Secured Kafka); the log above names each", n))
	}
	// A value that does not decode now is a violation below; one that a
	// later good record repaired is a note.
	undecodable := processors.UndecodableRecords() - undecodableBefore
	defer func() {
		if undecodable > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d table records did not decode and were repaired by a later good record (README, Failures); the log above names each", undecodable))
		}
	}()

	// What each account's completed transfers moved.
	moved := map[string]wallet.Money{}
	r.Transfers = map[string]int{}
	err = transfers.Each(func(id string, s wallet.TransferState, err error) error {
		if err != nil {
			undecodable--
			r.Violations = append(r.Violations, fmt.Sprintf("transfer %s: %v", id, err))
			return nil
		}
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
	owner := map[string]wallet.Signup{}
	err = signups.Each(func(key string, s wallet.Signup, err error) error {
		if err != nil {
			undecodable--
			r.Violations = append(r.Violations, fmt.Sprintf("signup %s: %v", key, err))
			return nil
		}
		owner[key] = s
		return nil
	})
	if err != nil {
		return err
	}
	r.Owners = len(owner)
	err = accounts.Each(func(key string, a wallet.Account, err error) error {
		if err != nil {
			undecodable--
			r.Violations = append(r.Violations, fmt.Sprintf("account %s: %v", key, err))
			delete(moved, key)
			return nil
		}
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
func (r *Report) readVersions(c kafka.Config) error {
	topic := string(topology.AccountTable)
	for p := range int32(c.Partitions) {
		err := c.ReadPartition(topic, p, 10*time.Minute, func(msg *sarama.ConsumerMessage) {
			r.ChangelogRecords++
			r.ChangelogBytes += int64(len(msg.Key) + len(msg.Value))
			if msg.Value == nil {
				return // a tombstone: readTables reported it
			}
			v, err := topology.AccountCodec.Decode(msg.Value)
			if err != nil {
				return // readTables reported it
			}
			a := v.(wallet.Account)
			if key := string(msg.Key); key != wallet.World && a.Balance.LessThan(a.OverdraftLimit.Neg()) {
				r.Violations = append(r.Violations, fmt.Sprintf("%s/%d@%d: account %s at %s, below minus its limit %s", topic, p, msg.Offset, key, a.Balance, a.OverdraftLimit))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkClaims checks rule 9 against the logs: the signup changelog holds
// one winning claim per name, and that winner is the name's first claim
// in wallet.signup_request that the signup group did not dead-letter. A
// name whose first claim is older than what the log still keeps is not
// checked against it.
func (r *Report) checkClaims(c kafka.Config) error {
	winners := map[string]wallet.Signup{}
	for p := range int32(c.Partitions) {
		end, err := c.EndOffset(string(topology.SignupRequests), p)
		if err != nil {
			return err
		}
		err = c.ReadPartition(string(topology.SignupTable), p, 10*time.Minute, func(msg *sarama.ConsumerMessage) {
			v, err := topology.SignupCodec.Decode(msg.Value)
			key := string(msg.Key)
			if err != nil || topology.Partition(key, c.Partitions) != p || v.(wallet.Signup).Offset >= end {
				return // readTables reported it
			}
			s := v.(wallet.Signup)
			w, ok := winners[key]
			switch {
			case !ok:
				winners[key] = s
			case w.RequestID != s.RequestID || w.Offset != s.Offset:
				r.Violations = append(r.Violations, fmt.Sprintf("name %s has two winning claims in %s: request ID %s (claim at offset %d), then %s (at %d, changelog offset %d)",
					key, topology.SignupTable, w.RequestID, w.Offset, s.RequestID, s.Offset, msg.Offset))
			}
		})
		if err != nil {
			return err
		}
	}
	dead, err := deadLettered(c)
	if err != nil {
		return err
	}
	type claimAt struct {
		claim  wallet.Claim
		offset int64
	}
	first := map[string]claimAt{}
	kept := map[int32]int64{} // the first offset still kept of each partition
	topic := string(topology.SignupRequests)
	for p := range int32(c.Partitions) {
		kept[p] = -1
		err := c.ReadPartition(topic, p, 10*time.Minute, func(msg *sarama.ConsumerMessage) {
			if kept[p] < 0 {
				kept[p] = msg.Offset
			}
			if dead[position{topic, p, msg.Offset}] {
				return
			}
			v, err := topology.ClaimCodec.Decode(msg.Value)
			claim, ok := v.(wallet.Claim)
			if err != nil || !ok {
				return
			}
			key, err := claim.Key()
			if err != nil || key != string(msg.Key) || topology.Partition(key, c.Partitions) != p {
				return
			}
			if _, ok := first[key]; !ok {
				first[key] = claimAt{claim, msg.Offset}
			}
		})
		if err != nil {
			return err
		}
	}
	for key, w := range winners {
		f, ok := first[key]
		switch {
		case !ok && w.Offset >= kept[topology.Partition(key, c.Partitions)]:
			r.Violations = append(r.Violations, fmt.Sprintf("name %s was won by request ID %s at offset %d of %s, where no claim of it is", key, w.RequestID, w.Offset, topic))
		case ok && (f.offset != w.Offset || f.claim.RequestID != w.RequestID):
			r.Violations = append(r.Violations, fmt.Sprintf("name %s was won by request ID %s at offset %d, but its first claim is request ID %s at offset %d",
				key, w.RequestID, w.Offset, f.claim.RequestID, f.offset))
		}
	}
	for key, f := range first {
		if _, ok := winners[key]; !ok {
			r.Violations = append(r.Violations, fmt.Sprintf("name %s: its first claim, request ID %s at offset %d, never won", key, f.claim.RequestID, f.offset))
		}
	}
	return nil
}

// position is where a message is.
type position struct {
	topic     string
	partition int32
	offset    int64
}

// deadLettered returns the positions of the inputs in the dead letters,
// from their headers.
func deadLettered(c kafka.Config) (map[position]bool, error) {
	dead := map[position]bool{}
	for p := range int32(c.Partitions) {
		err := c.ReadPartition(string(topology.DeadLetters), p, 10*time.Minute, func(msg *sarama.ConsumerMessage) {
			var pos position
			for _, h := range msg.Headers {
				switch string(h.Key) {
				case topology.HeaderTopic:
					pos.topic = string(h.Value)
				case topology.HeaderPartition:
					n, _ := strconv.ParseInt(string(h.Value), 10, 32)
					pos.partition = int32(n)
				case topology.HeaderOffset:
					pos.offset, _ = strconv.ParseInt(string(h.Value), 10, 64)
				}
			}
			dead[pos] = true
		})
		if err != nil {
			return nil, err
		}
	}
	return dead, nil
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
