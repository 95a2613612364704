// Package audit holds the wallet's auditor: it reads the accountant's table
// from Kafka and checks the books, that the balances of all accounts sum to
// zero once the pipeline has drained, and reports how far behind each
// processor group is.
package audit

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/rocksdb"
	"github.com/wallet/wallet/topology"
	"github.com/wallet/wallet/views"
)

// Lag is how many messages of one input partition a group has not
// committed yet.
type Lag struct {
	Group     goka.Group
	Topic     goka.Stream
	Partition int32
	Committed int64 // -1 if the group has committed nothing
	End       int64
}

// Messages is the number of messages not yet committed.
func (l Lag) Messages() int64 {
	if l.Committed < 0 {
		return l.End
	}
	return l.End - l.Committed
}

// Report is what the auditor found.
type Report struct {
	Accounts    int
	Sum         wallet.Money
	Lag         []Lag
	DeadLetters int64
	// Drained is true when no group had lag when the table was read.
	Drained bool
}

// OK reports whether the books balance: the pipeline drained and the
// balances summing to zero.
func (r Report) OK() bool { return r.Drained && r.Sum.IsZero() }

// Print writes the report for a person.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "accounts: %d\n", r.Accounts)
	fmt.Fprintf(w, "sum of balances: %s\n", r.Sum)
	fmt.Fprintf(w, "dead letters: %d\n", r.DeadLetters)
	for _, l := range r.Lag {
		fmt.Fprintf(w, "lag %s %s/%d: %d (committed %d, end %d)\n", l.Group, l.Topic, l.Partition, l.Messages(), l.Committed, l.End)
	}
	switch {
	case !r.Drained:
		fmt.Fprintln(w, "NOT DRAINED: the processors still have messages to process; the sum is not final")
	case !r.Sum.IsZero():
		fmt.Fprintln(w, "VIOLATION: the balances do not sum to 0.00")
	default:
		fmt.Fprintln(w, "OK")
	}
}

// Run waits up to drainTimeout for both groups to have no lag, then reads
// the whole accountant table into a fresh local copy and sums it.
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
		r.Lag, err = lags(client)
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
	opts := append(c.ViewOptions(), goka.WithViewStorageBuilder(rocksdb.Builder(state, rocksdb.Options{})))
	accounts, err := views.NewAccounts(c.Brokers, opts...)
	if err != nil {
		return Report{}, err
	}
	viewCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- accounts.Run(viewCtx) }()
	for !accounts.Recovered() {
		select {
		case err := <-done:
			return Report{}, fmt.Errorf("read %s: %w", topology.AccountTable, err)
		case <-ctx.Done():
			return Report{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	err = accounts.Each(func(name string, a wallet.Account) error {
		r.Accounts++
		r.Sum = r.Sum.Add(a.Balance)
		return nil
	})
	stop()
	<-done
	return r, err
}

// lags returns the lag of every group on every partition of its inputs.
func lags(client sarama.Client) ([]Lag, error) {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("create Kafka admin: %w", err)
	}
	// Closing the admin would close the shared client.
	var all []Lag
	for _, in := range topology.Inputs() {
		parts, err := client.Partitions(string(in.Topic))
		if err != nil {
			return nil, fmt.Errorf("partitions of %s: %w", in.Topic, err)
		}
		committed, err := admin.ListConsumerGroupOffsets(string(in.Group), map[string][]int32{string(in.Topic): parts})
		if err != nil {
			return nil, fmt.Errorf("offsets of group %s: %w", in.Group, err)
		}
		for _, p := range parts {
			end, err := client.GetOffset(string(in.Topic), p, sarama.OffsetNewest)
			if err != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", in.Topic, p, err)
			}
			l := Lag{Group: in.Group, Topic: in.Topic, Partition: p, Committed: -1, End: end}
			if b := committed.GetBlock(string(in.Topic), p); b != nil {
				l.Committed = b.Offset
			}
			all = append(all, l)
		}
	}
	return all, nil
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
