package broker

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// floor makes the broker refuse writes while the free space under its data
// directory is below a floor. kfake does not stop on a full disk: an fsync
// that fails is ignored, and its group and producer logs may be left with
// a torn entry. Refusing before the disk is full keeps every acknowledged
// write on disk; writes resume by themselves once space is freed.
//
// Produce requests are answered UNKNOWN_SERVER_ERROR, as kfake answers a
// batch it could not write: sarama fails the write at once, the API
// answers 503 (retry with the same request ID) and the processors stop
// and start again, as when the broker is away. Not KAFKA_STORAGE_ERROR,
// which Kafka uses and sarama retries: sarama's idempotent producer, after
// retrying refused batches, acknowledged transfers that were never written
// (8 and 33 of ~14,700 in two runs with the broker refused for 6 s; none
// in two runs with UNKNOWN_SERVER_ERROR; docs/BENCHMARKS.md).
//
// Other writes (offset commits, producer IDs, new topics) are a few bytes
// each and are let through: the floor leaves room for them.
type floor struct {
	dir  string
	min  uint64
	free func(dir string) (uint64, error)

	// below is read on the cluster's loop for every produce request, so
	// it is a value refreshed every checkFreeEvery, not a statfs.
	below atomic.Bool
}

// checkFreeEvery is how often the free space is measured. A broker writing
// 100 MB/s uses 25 MB of the floor between two measurements.
const checkFreeEvery = 250 * time.Millisecond

// guardFloor measures the free space once, so that a broker started on a
// full disk refuses its first write, then installs the produce check and
// keeps the measurement fresh until ctx ends.
func guardFloor(ctx context.Context, c *kfake.Cluster, dir string, min uint64, free func(string) (uint64, error)) {
	f := &floor{dir: dir, min: min, free: free}
	f.refresh()
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !f.below.Load() {
			return nil, nil, false // kfake writes it
		}
		c.KeepControl() // a handled request would otherwise drop this function
		return refuse(req.(*kmsg.ProduceRequest))
	})
	go func() {
		tick := time.NewTicker(checkFreeEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				f.refresh()
			}
		}
	}()
}

// refresh measures the free space and logs when it crosses the floor, one
// line each way.
func (f *floor) refresh() {
	free, err := f.free(f.dir)
	if err != nil {
		// Keep the last state: a failing statfs says nothing about space.
		slog.Warn("broker: cannot measure free space", "dir", f.dir, "err", err)
		return
	}
	below := free < f.min
	if f.below.Swap(below) == below {
		return
	}
	if below {
		slog.Error("broker: free space below the floor, refusing writes until space is freed",
			"dir", f.dir, "free_bytes", free, "floor_bytes", f.min)
	} else {
		slog.Info("broker: free space back above the floor, accepting writes",
			"dir", f.dir, "free_bytes", free, "floor_bytes", f.min)
	}
}

// errAcks0BelowFloor closes the connection of an acks=0 producer, which
// reads no answer: that is how Kafka reports their failed writes.
var errAcks0BelowFloor = errors.New("broker: free space below the floor, refusing an acks=0 produce request")

// refuse answers every partition of a produce request UNKNOWN_SERVER_ERROR.
func refuse(req *kmsg.ProduceRequest) (kmsg.Response, error, bool) {
	if req.Acks == 0 {
		return nil, errAcks0BelowFloor, true
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	msg := "free space under the broker's data directory is below its floor"
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = kerr.UnknownServerError.Code
			rp.ErrorMessage = &msg
			rp.BaseOffset = -1
			rp.LogAppendTime = -1
			rp.LogStartOffset = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil, true
}
