// Package processors holds the wallet's goka processor groups: the signup
// group, which decides which claim of each username wins and the
// accounts' API keys; paymentd (Transfers), which stores each transfer,
// starts it with the sender's debit and records its outcome; and the
// accountant, which decides every instruction for an account. The
// decisions are pure functions (DecideClaim, DecideKeyChange,
// DecideTransfer, RecordOutcome, Apply) with table tests; the goka
// callbacks only adapt them to the context: check the input, read the
// table value, set it, emit. Groups has the builder of every group of
// topology.Graphs. Bounds has the rules by which every reader of the
// tables, the processors recovering and the views, refuses what no
// processor writes. The counters of what the groups did are served on
// GET /metrics.
package processors

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/wallet/wallet"
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

// Bounds are what no record written by a processor exceeds, with which
// every reader of a table, a processor recovering its partitions or a
// view, refuses the records that no processor wrote (DESIGN.md, rule 14):
// the processors write their tables in transactions, read back
// read_committed, so a record that breaks them was written by a client
// that may write the tables, which the broker's ACLs are there to stop.
// Both fields are required (Validate): there is no setting that checks
// nothing. goka's tester has one partition, and its tests give the
// bounds of that.
type Bounds struct {
	// Partitions is the number of partitions of every topic and table: an
	// input or a table record whose key belongs to another partition is
	// refused.
	Partitions int
	// End returns the end offset of a partition of an input topic: a
	// table record whose version (the offset after the input it reflects)
	// is beyond the end of its input partition is refused.
	End func(topic goka.Stream, partition int32) (int64, error)
}

// Validate reports bounds that cannot check what they are for: no
// partitions, or no way to read an input partition's end.
func (b Bounds) Validate() error {
	if b.Partitions <= 0 {
		return fmt.Errorf("bounds: %d partitions, want at least 1", b.Partitions)
	}
	if b.End == nil {
		return errors.New("bounds: no End to read the end offset of an input partition")
	}
	return nil
}

// ReadAccounts returns how the accountant's table is read from its
// changelog, by the accountant recovering a partition and by every view:
// as readTable does, the newer version of an account (NextOffset) winning.
func (b Bounds) ReadAccounts() goka.UpdateCallback {
	return readTable(topology.Instructions, b, codecs.AccountNextOffset, newer(codecs.AccountNextOffset))
}

// ReadTransfers returns how paymentd's table is read from its changelog:
// as readTable does, the newer version of a transfer (NextOffset)
// winning. A record whose value was written for another key (another
// request ID) is one no processor wrote: it is ignored and counted as
// forged.
func (b Bounds) ReadTransfers() goka.UpdateCallback {
	read := readTable(topology.TransferRequests, b, codecs.TransferStateNextOffset, newer(codecs.TransferStateNextOffset))
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if err := codecs.TransferStateForAnotherKey(value, key); err != nil {
			ignoreForged(ctx, key, fmt.Errorf("a transfer state that %w", err))
			return nil
		}
		return read(ctx, s, key, value)
	}
}

// ReadSignups returns how the signup group's table is read from its
// changelog: as readTable does, the first claim of a name winning for
// ever. Its version is the offset after the last claim or key change it
// reflects, the newer version winning; a record of
// another claim of the same name (another request ID or offset) is a
// second winner, which no processor writes: it is ignored and counted as
// forged, and the winner stays.
func (b Bounds) ReadSignups() goka.UpdateCallback {
	return readTable(topology.SignupRequests, b, signupVersion, sameWinner)
}

// errStale says that the stored value is newer than a record.
var errStale = errors.New("the stored version is newer")

// readTable returns how a table whose values are versioned is read from
// its changelog, record by record. A record is refused, ignored and
// counted as forged (ForgedRecords), when no processor could have written
// it:
//   - a tombstone: no processor deletes, and one would wipe an account
//     or free a name;
//   - a key in another partition than topology.Partition gives it;
//   - a version beyond the end of its input partition, which would win
//     over every honest version for ever.
//
// Otherwise the record is stored if replaces allows it over the stored
// value: it returns errStale for a record older than the stored value
// (counted as stale and ignored), another error for one that may not
// replace it (counted as forged and ignored).
//
// A record that does not decode is stored and counted: it may be the
// newest version damaged, so it poisons its key (stored) rather than
// letting an older version, or none, be taken for the newest, until a
// good record repairs it (README, Failures).
//
// The processors write their tables in transactions, so what a
// read_committed reader reads of an honest table is each key's versions in
// order: these rules refuse only what a client allowed to write the
// tables has forged. Compaction keeps each key's last committed record,
// and drops aborted ones.
//
// Bounds that do not validate make every record fail the read, with the
// reason: a reader that checked nothing would take forged records for
// honest ones.
func readTable(input goka.Stream, b Bounds, version func([]byte) (int64, error), replaces func(stored, incoming []byte) error) goka.UpdateCallback {
	if err := b.Validate(); err != nil {
		return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
			return fmt.Errorf("read %q from %s: %w", key, ctx.Topic(), err)
		}
	}
	ends := newEndOffsets(func(p int32) (int64, error) { return b.End(input, p) })
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if value == nil {
			ignoreForged(ctx, key, fmt.Errorf("a tombstone, and no processor deletes from %s", ctx.Topic()))
			return nil
		}
		if err := misplaced(key, ctx.Partition(), b.Partitions); err != nil {
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
		refused, err := ends.check(ctx.Partition(), incoming)
		if err != nil {
			return fmt.Errorf("read %q from %s: %w", key, ctx.Topic(), err)
		}
		if refused != nil {
			ignoreForged(ctx, key, refused)
			return nil
		}
		old, err := s.Get(key)
		if err != nil {
			return fmt.Errorf("read %q from %s: %w", key, ctx.Topic(), err)
		}
		if old != nil {
			if _, err := version(old); err == nil {
				switch err := replaces(old, value); {
				case errors.Is(err, errStale):
					stale.Inc()
					return nil
				case err != nil:
					ignoreForged(ctx, key, err)
					return nil
				}
			}
		}
		return goka.DefaultUpdate(ctx, s, key, value)
	}
}

// newer returns the rule by which a record replaces a stored value unless
// the stored version is newer.
func newer(version func([]byte) (int64, error)) func(stored, incoming []byte) error {
	return func(stored, incoming []byte) error {
		was, _ := version(stored)
		is, err := version(incoming)
		if err != nil {
			return err
		}
		if was > is {
			return errStale
		}
		return nil
	}
}

// signupVersion returns the version of an encoded signup: the offset
// after its winning claim.
func signupVersion(value []byte) (int64, error) {
	v, err := topology.SignupCodec.Decode(value)
	if err != nil {
		return 0, err
	}
	return v.(wallet.Signup).NextOffset, nil
}

// sameWinner lets a signup record replace the stored one only if both are
// of the same winning claim, and the record is not older (key changes make
// newer versions of a signup).
func sameWinner(stored, incoming []byte) error {
	was, err := topology.SignupCodec.Decode(stored)
	if err != nil {
		return err
	}
	is, err := topology.SignupCodec.Decode(incoming)
	if err != nil {
		return err
	}
	w, i := was.(wallet.Signup), is.(wallet.Signup)
	if w.RequestID != i.RequestID || w.Offset != i.Offset {
		return fmt.Errorf("a second winner of the name (request ID %s at offset %d): the first claim (request ID %s at offset %d) won it for ever",
			i.RequestID, i.Offset, w.RequestID, w.Offset)
	}
	if w.NextOffset > i.NextOffset {
		return errStale
	}
	return nil
}

// ignoreForged counts and logs a changelog record that no processor wrote,
// which readers ignore.
func ignoreForged(ctx goka.UpdateContext, key string, why error) {
	forged.Inc()
	slog.Warn("ignored a changelog record that no processor wrote: only processors may write the tables",
		"topic", ctx.Topic(), "partition", ctx.Partition(), "offset", ctx.Offset(), "key", key, "error", why)
}

// ReplayedInstructions returns the number of instructions this process's
// accountant has met that their account's state already reflected.
func ReplayedInstructions() int64 { return count(replayed) }

// StaleRecords returns the number of changelog records of versioned tables
// this process has ignored because it held a newer version: in an honest
// table none, since each key's versions are committed in order.
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

// deadLetterInput sends the input, encoded again by raw, to the dead
// letters with the reason why it was not applied. An input that cannot be
// encoded again (it was decoded, so it can) goes with no value, and the
// encoding's error beside the reason.
func deadLetterInput(ctx goka.Context, raw func() ([]byte, error), why error) {
	value, err := raw()
	if err != nil {
		why = fmt.Errorf("%w (and encoding the input again failed: %v)", why, err)
	}
	deadLetter(ctx, codecs.Poison{Value: value, Err: why})
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
// not open, a transfer never seen). Deciding on it would put a wrong
// decision in the transaction, and returning without a decision would
// let the input count as finished, and commit with it, undecided. So the
// input is failed: the transaction is aborted, and the input comes again.
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
		deadLetterInput(ctx, raw, fmt.Errorf(
			"the %s value of key %q does not decode, so this input was not applied: %w", goka.GroupTable(ctx.Group()), ctx.Key(), v.Err))
		return nil, false
	default:
		ctx.Fail(fmt.Errorf("%s value of key %q is a %T", goka.GroupTable(ctx.Group()), ctx.Key(), v))
		return nil, false
	}
}

// newProcessor returns the processor of graph with the wallet's defaults
// before the caller's options: nil inputs reach the callback (to be
// dead-lettered), and the table is read from its changelog by read, with
// the bounds b, which must validate.
func newProcessor(brokers []string, graph *goka.GroupGraph, b Bounds, read func(Bounds) goka.UpdateCallback, opts []goka.ProcessorOption) (*goka.Processor, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("create %s: %w", graph.Group(), err)
	}
	return goka.NewProcessor(brokers, graph, append([]goka.ProcessorOption{
		goka.WithNilHandling(goka.NilProcess),
		goka.WithUpdateCallback(counted(read(b))),
	}, opts...)...)
}
