package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet/topology"
)

// Lag is how far one group's committed offset is behind the committed
// records of one input partition.
type Lag struct {
	Group     goka.Group
	Topic     goka.Stream
	Partition int32
	Committed int64 // -1 if the group has committed nothing
	// End is the partition's committed end (CommittedEnd): the offset
	// after its last committed record.
	End int64
	// Open is set while a transaction is open in the partition: a
	// producer has written records that no one may read until it
	// commits.
	Open bool
}

// Messages is the number of offsets between the committed one and the
// committed end: zero when the group has processed every committed
// message. (Transaction markers take offsets too, so a partition behind
// counts a few more than its messages.)
func (l Lag) Messages() int64 {
	if l.Committed < 0 {
		return l.End
	}
	return max(0, l.End-l.Committed)
}

// Drained reports whether the group has processed every message of the
// partition and no transaction is open there.
func (l Lag) Drained() bool { return l.Messages() == 0 && !l.Open }

// Lags returns the lag of every group on every partition of its inputs.
func (c Config) Lags() ([]Lag, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("create Kafka admin: %w", err)
	}
	// Closing the admin would close the shared client.
	cl, err := c.KgoClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var all []Lag
	for _, in := range topology.Inputs() {
		parts, err := client.Partitions(string(in.Topic))
		if err != nil {
			return nil, fmt.Errorf("partitions of %s: %w", in.Topic, err)
		}
		committed, err := admin.ListConsumerGroupOffsets(string(in.Group), map[string][]int32{string(in.Topic): parts})
		// A group that never joined does not exist yet: it committed
		// nothing.
		if err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			return nil, fmt.Errorf("offsets of group %s: %w", in.Group, err)
		}
		for _, p := range parts {
			l := Lag{Group: in.Group, Topic: in.Topic, Partition: p, Committed: -1}
			if committed != nil {
				if b := committed.GetBlock(string(in.Topic), p); b != nil {
					l.Committed = b.Offset
				}
			}
			l.End, l.Open, err = c.committedEnd(ctx, cl, string(in.Topic), p)
			if err != nil {
				return nil, err
			}
			all = append(all, l)
		}
	}
	return all, nil
}
