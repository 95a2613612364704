// Package processors holds the wallet's goka processor groups: paymentd,
// which turns each transfer into two payments, and the accountant, which
// applies payments to balances exactly once. The money logic is pure
// functions (Route, Apply) with table tests; the goka callbacks only adapt
// them to the context: read the table value, set it, emit.
package processors

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/topology"
)

// RecoveredRecords returns the number of table records this process has
// read from changelogs to rebuild its local tables. A processor restarted on
// its own state directory reads only what it had not stored yet.
func RecoveredRecords() int64 { return count(recovered) }

// counted returns the update callback update, counting each changelog
// record it is given as recovered. Only processors count: a view reads its
// table's changelog all the time, not only to recover.
func counted(update goka.UpdateCallback) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		recovered.Inc()
		return update(ctx, s, key, value)
	}
}

// StoreNewest returns how a table with versioned values is read from its
// changelog, by a processor recovering a partition and by every view: a
// record is stored unless the stored value is newer (version, which reads
// the NextOffset of an encoded value, gives a higher number), and then it
// is counted as stale. A record that does not decode is stored and
// counted: it poisons its key rather than letting an older version, or
// none, be taken for the newest.
//
// goka does not fence a processor instance that has lost its partition:
// one whose session expired while it was stalled, or whose producer
// retries a write after a broker restart, can still write to the
// changelog after the new owner has. The changelog's last record for a key
// is then an old version, and a new owner recovering from it would skip,
// as committed, the messages it lacks. Every instance computes the same
// version from the same messages, so the newest version is the right one,
// whatever order the versions reached the changelog in.
//
// Records no processor writes are ignored and counted as forged
// (ForgedRecords), so that the newest honest version stays:
//   - a tombstone: no processor deletes from a versioned table, and
//     letting one through would wipe an account;
//   - with partitions above zero, a key in another partition than
//     topology.Partition gives it;
//   - with end set (it returns the end offset of a partition of the
//     table's input topic), a version beyond the end of its input
//     partition (beyondEnd), which would otherwise win over every honest
//     version for ever and freeze the key.
//
// Unlike an undecodable record (perhaps a newer format, or the newest
// version damaged), these cannot be an honest version, so ignoring them
// loses nothing. Compaction may still delete the key's honest records
// behind a forged one; the broker's ACLs are what prevent the write.
func StoreNewest(version func([]byte) (int64, error), partitions int, end func(partition int32) (int64, error)) goka.UpdateCallback {
	ends := newEndOffsets(end)
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value == nil {
			ignoreForged(ctx, key, fmt.Errorf("a tombstone, and no processor deletes from %s", ctx.Topic()))
			return nil
		}
		if err := misplaced(key, ctx.Partition(), partitions); err != nil {
			ignoreForged(ctx, key, err)
			return nil
		}
		incoming, err := version(value)
		if err != nil {
			// Not a value at all, and perhaps the newest version
			// damaged: neither it nor an older version can be trusted.
			// It is stored, so that the key's inputs go to the dead
			// letters (see stored) until a good record repairs it.
			undecodable.Inc()
			slog.Warn("stored a changelog record that does not decode: the key's inputs go to the dead letters until it is repaired",
				"topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "key", key, "error", err)
			return goka.DefaultUpdate(ctx, s, key, value)
		}
		if ends != nil {
			refused, err := ends.check(ctx.Partition(), incoming)
			if err != nil {
				return fmt.Errorf("recover %q from %s: %w", key, ctx.Topic(), err)
			}
			if refused != nil {
				ignoreForged(ctx, key, refused)
				return nil
			}
		}
		old, err := s.Get(key)
		if err != nil {
			return fmt.Errorf("recover %q from %s: %w", key, ctx.Topic(), err)
		}
		if old != nil {
			if stored, err := version(old); err == nil && stored > incoming {
				stale.Inc()
				return nil
			}
		}
		return goka.DefaultUpdate(ctx, s, key, value)
	}
}

// ignoreForged counts and logs a changelog record that no processor wrote,
// which recovery ignores.
func ignoreForged(ctx goka.UpdateContext, key string, why error) {
	forged.Inc()
	slog.Warn("ignored a changelog record that no processor wrote: only processors may write the tables",
		"topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "key", key, "error", why)
}

// Versioned tables as the views read them: tombstones ignored, with no
// bound on partitions or versions (a view only serves what the processors
// decided). The processors bind theirs (NewAccountant, NewPayments).
var (
	NewestAccount  = StoreNewest(codecs.AccountNextOffset, 0, nil)
	NewestTransfer = StoreNewest(codecs.TransferStateNextOffset, 0, nil)
)

// StaleRecords returns the number of changelog records of versioned tables
// this process has ignored because it held a newer version.
func StaleRecords() int64 { return count(stale) }

// UndecodableRecords returns the number of table values this process has
// met that do not decode: changelog records ignored in recovery, and
// stored values whose key's input went to the dead letters.
func UndecodableRecords() int64 { return count(undecodable) }

// poison returns the input as a Poison when it cannot be processed: bytes
// its codec rejected, or an empty (tombstone) value.
func poison(msg any) (codecs.Poison, bool) {
	switch m := msg.(type) {
	case nil:
		return codecs.Poison{Err: fmt.Errorf("empty value")}, true
	case codecs.Poison:
		return m, true
	}
	return codecs.Poison{}, false
}

// deadLetter sends an input that cannot be processed to the dead-letter
// topic, with the error and its origin in headers, and moves on: a poison
// message must never crash-loop a processor.
func deadLetter(ctx goka.Context, p codecs.Poison) {
	deadLetterCount.WithLabelValues(string(ctx.Topic())).Inc()
	slog.Warn("dead-lettered input",
		"topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(),
		"key", ctx.Key(), "error", p.Err)
	ctx.Emit(topology.DeadLetters, ctx.Key(), p.Value, goka.WithCtxEmitHeaders(goka.Headers{
		topology.HeaderError:     []byte(p.Err.Error()),
		topology.HeaderTopic:     []byte(ctx.Topic()),
		topology.HeaderPartition: []byte(strconv.Itoa(int(ctx.Partition()))),
		topology.HeaderOffset:    []byte(strconv.FormatInt(ctx.Offset(), 10)),
	}))
}

// stored returns the table value of the input's key as a T: nil if there
// is none, ok false if it does not decode. Such a value is poison in the
// table: no decision can be made from it, so the input, encoded again by
// raw, goes to the dead letters with the reason, and the value is counted.
// The operator repairs the record and sends the input again (README,
// "Failures").
//
// ok is also false, with nothing dead-lettered, when the partition is
// stopping: goka then records a failed read and Value returns nil instead
// of stopping the callback, and nil would read as "no value" (an account
// not open, a transfer never seen). Deciding on it made refunds of credits
// that were applied again after the restart; returning without a decision
// let goka commit the input, and the instruction was lost. So the input's
// commit is failed: it is not committed, and comes again.
func stored[T any](ctx goka.Context, raw func() ([]byte, error)) (value *T, ok bool) {
	v := ctx.Value()
	if err := ctx.Context().Err(); err != nil {
		ctx.DeferCommit()(fmt.Errorf("the partition stopped before the %s value of key %q was read: not decided, not committed: %w", goka.GroupTable(ctx.Group()), ctx.Key(), err))
		return nil, false
	}
	switch v := v.(type) {
	case nil:
		return nil, true
	case T:
		return &v, true
	case codecs.Poison:
		undecodable.Inc()
		input, _ := raw()
		deadLetter(ctx, codecs.Poison{Value: input, Err: fmt.Errorf(
			"the %s value of key %q does not decode, so this input was not applied: %w", goka.GroupTable(ctx.Group()), ctx.Key(), v.Err)})
		return nil, false
	default:
		ctx.Fail(fmt.Errorf("%s value of key %q is a %T", goka.GroupTable(ctx.Group()), ctx.Key(), v))
		return nil, false
	}
}

// options puts the wallet's processor defaults, with update as the
// table's recovery callback, before the caller's.
func options(update goka.UpdateCallback, opts []goka.ProcessorOption) []goka.ProcessorOption {
	return append([]goka.ProcessorOption{
		goka.WithNilHandling(goka.NilProcess),
		goka.WithUpdateCallback(counted(update)),
	}, opts...)
}
