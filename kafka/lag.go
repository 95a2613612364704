package kafka

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet/topology"
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

// Lags returns the lag of every group on every partition of its inputs.
func Lags(client sarama.Client) ([]Lag, error) {
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
