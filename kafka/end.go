package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CommittedEnd returns the offset after the last committed record of a
// partition of topic: a read_committed reader that has received that
// record has read the partition to its end.
//
// The partition's end offset (its high watermark) is not that. A
// partition written in transactions ends in a commit or abort marker,
// which readers skip and never receive, and may end in records of an
// aborted transaction, which read_committed readers never receive either.
// A reader that waits to receive the record before the end, as goka's
// table recovery does, would wait for ever. So CommittedEnd reads the
// last records back, markers included, and finds the last one that was
// committed: a record written outside a transaction, or one whose
// producer's next marker is a commit. Records of a transaction still
// open (at or above the last stable offset) do not count: they are not
// committed yet. With no committed record at all, it returns the
// partition's start offset.
func (c Config) CommittedEnd(topic string, partition int32) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := c.KgoClient()
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	end, _, err := c.committedEnd(ctx, cl, topic, partition)
	return end, err
}

// committedEnd returns CommittedEnd, and whether a transaction is open in
// the partition: records written in it that no reader has seen yet.
func (c Config) committedEnd(ctx context.Context, cl *kgo.Client, topic string, partition int32) (end int64, open bool, err error) {
	start, err := listOffset(ctx, cl, topic, partition, -2)
	if err != nil {
		return 0, false, err
	}
	hwm, err := listOffset(ctx, cl, topic, partition, -1)
	if err != nil {
		return 0, false, err
	}
	// Usually the last committed record is just before the end: a
	// transaction's last record and its marker. Read further back only
	// when the end holds none.
	for back := int64(16); ; back *= 8 {
		from := max(start, hwm-back)
		last, pending, err := lastCommitted(ctx, c, topic, partition, from, hwm)
		if err != nil {
			return 0, false, err
		}
		if last >= 0 {
			return last + 1, pending, nil
		}
		if from == start {
			return start, pending, nil
		}
	}
}

// lastCommitted reads the records of [from, end) of a partition, markers
// and aborted records included, and returns the offset of the last
// committed one, or -1 if none is, and whether a transaction is still
// open at the end.
func lastCommitted(ctx context.Context, c Config, topic string, partition int32, from, end int64) (last int64, pending bool, err error) {
	if from >= end {
		return -1, false, nil
	}
	cl, err := c.KgoClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(from)}}),
		kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
	)
	if err != nil {
		return 0, false, err
	}
	defer cl.Close()
	last = -1
	// The offset of the last record of each producer's open transaction:
	// it is committed if the producer's next marker is a commit. A
	// producer has one transaction open at a time, and a producer fenced
	// by a new epoch keeps its producer ID, so the next marker of a
	// producer ID decides every record of it before the marker.
	open := map[int64]int64{}
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, false, fmt.Errorf("read %s/%d from %d to %d: %w", topic, partition, from, end, err)
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) { fetchErr = err })
		if fetchErr != nil {
			return 0, false, fmt.Errorf("read %s/%d from %d: %w", topic, partition, from, fetchErr)
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done {
				return
			}
			switch {
			case r.Attrs.IsControl():
				// The key is a version (int16) and a type (int16): 0
				// aborts, 1 commits.
				if o, ok := open[r.ProducerID]; ok && len(r.Key) >= 4 && r.Key[3] == 1 {
					last = max(last, o)
				}
				delete(open, r.ProducerID)
			case r.Attrs.IsTransactional():
				open[r.ProducerID] = r.Offset
			default:
				last = max(last, r.Offset)
			}
			done = r.Offset >= end-1
		})
		if done {
			return last, len(open) > 0, nil
		}
	}
}

// listOffset returns the start (at -2) or end (at -1, the high
// watermark) offset of a partition.
func listOffset(ctx context.Context, cl *kgo.Client, topic string, partition int32, at int64) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = partition, at
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("list the offsets of %s/%d: %w", topic, partition, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return 0, fmt.Errorf("list the offsets of %s/%d: %w", topic, partition, err)
			}
			return p.Offset, nil
		}
	}
	return 0, fmt.Errorf("list the offsets of %s/%d: no answer for the partition", topic, partition)
}
