package processors

import (
	"fmt"
	"sync"

	"github.com/wallet/wallet/topology"
)

// Defence in depth. Only processors may write wallet.payment and the group
// tables (README, the trust boundary), and the broker's ACLs enforce it.
// Should a record reach them from anyone else, the processors refuse what
// no processor could have written, with the limits in force:
//
//   - an input or table record whose key does not hash to the partition it
//     is in (misplaced);
//   - an input with an amount or an overdraft limit above the configured
//     maximum (wallet.Instruction.Bounded, wallet.CheckMaxAmount): every
//     instruction is bounded where it is applied, so a forged one moves at
//     most what an honest one could;
//   - a table value whose version (NextOffset) is beyond the end of the
//     input partition it counts (endOffsets);
//   - a tombstone in a versioned table: no processor deletes.
//
// A refused input goes to the dead letters with the reason, as poison
// does. A refused table record is ignored in recovery and counted: it is
// certainly not an honest version, so the newest honest version stays.
//
// Stored values are not checked against the maximums: they are settings,
// and an operator lowering one would otherwise freeze every account or
// transfer stored under the old one.

// ForgedRecords returns the number of table records this process has
// refused as written by no processor: tombstones, versions beyond the end
// of their input partition and keys in the wrong partition ignored in
// recovery, and stored transfers under another request ID met by an
// input.
func ForgedRecords() int64 { return count(forged) }

// misplaced returns an error if key does not hash to partition among
// partitions: every writer of the wallet chooses the partition of a key
// with Kafka's partitioner (topology.Partition), so a record elsewhere was
// put there by hand. Such an input would be decided from the state of
// another partition, where its key has no history (a second account of
// the same name, say). The constructors validate partitions (Bounds);
// should none be given anyway, every key is refused rather than none.
func misplaced(key string, partition int32, partitions int) error {
	if partitions <= 0 {
		return fmt.Errorf("key %q: no partition count to check it against", key)
	}
	if want := topology.Partition(key, partitions); want != partition {
		return fmt.Errorf("key %q belongs to partition %d of %d, not %d: no processor or API writes it here", key, want, partitions, partition)
	}
	return nil
}

// beyondEnd returns an error if a table value's version, the NextOffset
// of its input partition, is above end, that partition's end offset. A
// processor writes NextOffset = o+1 after processing the input at offset
// o, which it read below the partition's end at the time; a partition's
// end never goes back. So no honest version is above the end.
func beyondEnd(next, end int64) error {
	if next > end {
		return fmt.Errorf("version (next offset) %d is beyond the end %d of its input partition: no processor wrote it", next, end)
	}
	return nil
}

// endOffsets caches the end offset of each input partition for a table's
// recovery. The end is read once when a partition's first record is met,
// and again only for a record whose version is beyond the end last read
// (the partition grows while it is recovered, and an instance that has
// lost the partition may still write a newer version): a recovery asks
// Kafka once per partition, and once more per forged record.
type endOffsets struct {
	read  func(partition int32) (int64, error)
	mu    sync.Mutex
	known map[int32]int64
}

func newEndOffsets(read func(partition int32) (int64, error)) *endOffsets {
	return &endOffsets{read: read, known: map[int32]int64{}}
}

// check returns an error if version next is beyond the end of partition,
// read afresh before refusing; a failure to read the end is returned as
// such, wrapped.
func (e *endOffsets) check(partition int32, next int64) (refused error, failed error) {
	e.mu.Lock()
	end, ok := e.known[partition]
	e.mu.Unlock()
	if ok && next <= end {
		return nil, nil
	}
	end, err := e.read(partition)
	if err != nil {
		return nil, fmt.Errorf("read the end offset of input partition %d: %w", partition, err)
	}
	e.mu.Lock()
	e.known[partition] = end
	e.mu.Unlock()
	return beyondEnd(next, end), nil
}
