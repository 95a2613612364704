package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// offsets are a topic's offsets, one per partition.
type offsets map[int32]int64

// sum adds the offsets of every partition.
func (o offsets) sum() int64 {
	var n int64
	for _, v := range o {
		n += v
	}
	return n
}

// lagWatcher reads how far behind the processor groups are, with lags
// (the wallet's as the auditor does, kafka.Config.Lags), and what they
// have committed.
type lagWatcher struct {
	kc   kafka.Config
	lags func() ([]kafka.Lag, error)
}

func newLagWatcher(kc kafka.Config, lags func() ([]kafka.Lag, error)) (*lagWatcher, error) {
	return &lagWatcher{kc: kc, lags: lags}, nil
}

func (w *lagWatcher) close() {}

// ends returns the committed end (kafka.Config.CommittedEnd) of every
// partition of topic.
func (w *lagWatcher) ends(topic string) (offsets, error) {
	out := offsets{}
	for p := range int32(w.kc.Partitions) {
		end, err := w.kc.CommittedEnd(topic, p)
		if err != nil {
			return nil, err
		}
		out[p] = end
	}
	return out, nil
}

// waitDrained polls every poll until every group has processed every
// committed message of its inputs, with no transaction open (two polls in
// a row, since the pairs are read one after the other), or until failed
// receives an error, ctx is done or timeout passes. It returns when it
// first saw them drained.
func (w *lagWatcher) waitDrained(ctx context.Context, timeout, poll time.Duration, failed <-chan error) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var seen time.Time
	for {
		lags, err := w.lags()
		if err != nil {
			return time.Time{}, err
		}
		drained, behind := true, int64(0)
		for _, l := range lags {
			drained = drained && l.Drained()
			behind += l.Messages()
		}
		switch {
		case !drained:
			seen = time.Time{}
		case seen.IsZero():
			seen = time.Now()
		default:
			return seen, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the processors still lag by %d messages after %s", behind, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case err := <-failed:
			return time.Time{}, fmt.Errorf("the processors stopped: %w", err)
		case <-time.After(poll):
		}
	}
}

// waitOutcomes reads the transfer log from from, as a read_committed
// consumer does, until n outcomes are in it, or until failed receives an
// error, ctx is done or timeout passes. It returns when it read the first
// outcome and the last.
func (w *lagWatcher) waitOutcomes(ctx context.Context, from offsets, n int, timeout time.Duration, failed <-chan error) (first, last time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	go func() {
		select {
		case e := <-failed:
			err = fmt.Errorf("the processors stopped: %w", e)
			cancel()
		case <-ctx.Done():
		}
	}()
	start := map[int32]kgo.Offset{}
	for p, o := range from {
		start[p] = kgo.NewOffset().At(o)
	}
	cl, cerr := w.kc.KgoClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{string(topology.TransferRequests): start}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if cerr != nil {
		return first, last, cerr
	}
	defer cl.Close()
	seen := 0
	for seen < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("%d outcomes of %d after %s: %w", seen, n, timeout, ctx.Err())
			}
			return first, last, err
		}
		if ferr := fetches.Err(); ferr != nil {
			return first, last, fmt.Errorf("read %s: %w", topology.TransferRequests, ferr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if v, err := (codecs.TransferLog{}).Decode(r.Value); err == nil {
				if _, ok := v.(wallet.Outcome); ok {
					seen++
				}
			}
		})
		if seen > 0 && first.IsZero() {
			first = time.Now()
		}
	}
	return first, time.Now(), nil
}

// scan reads the committed records of topic at offsets [from, to) of every
// partition in to, to being committed ends (lagWatcher.ends), and calls fn
// for each.
func scan(ctx context.Context, kc kafka.Config, topic string, from, to offsets, fn func(*kgo.Record)) error {
	start := map[int32]kgo.Offset{}
	for p, end := range to {
		if end > from[p] {
			start[p] = kgo.NewOffset().At(from[p])
		}
	}
	if len(start) == 0 {
		return nil
	}
	cl, err := kc.KgoClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// The record before a committed end is a committed record, which a
	// read_committed reader receives; it is never compacted away, being
	// the newest record of its key.
	for left := len(start); left > 0; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %s: %d partitions not read to the end: %w", topic, left, ctx.Err())
		}
		if err := fetches.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end := to[r.Partition]
			if r.Offset >= end {
				return
			}
			fn(r)
			if r.Offset == end-1 {
				left--
			}
		})
	}
	return nil
}
