package kafka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// ReadPartition calls fn for every committed message of a partition of
// topic that is still there, in order, up to its committed end as it is
// when called (CommittedEnd), and gives up after timeout.
func (c Config) ReadPartition(topic string, partition int32, timeout time.Duration, fn func(msg *sarama.ConsumerMessage)) error {
	to, err := c.CommittedEnd(topic, partition)
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return c.unreachable(err)
	}
	defer client.Close()
	from, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("oldest offset of %s/%d: %w", topic, partition, err)
	}
	if from >= to {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, from)
	if err != nil {
		return fmt.Errorf("read %s/%d from %d: %w", topic, partition, from, err)
	}
	defer pc.Close()
	deadline := time.After(timeout)
	for {
		select {
		case msg := <-pc.Messages():
			if msg.Offset >= to {
				return nil
			}
			fn(msg)
			if msg.Offset == to-1 {
				return nil
			}
		case err := <-pc.Errors():
			return fmt.Errorf("read %s/%d: %w", topic, partition, err)
		case <-deadline:
			return fmt.Errorf("read %s/%d from %d to %d: not done after %s", topic, partition, from, to, timeout)
		}
	}
}

// EndOffset returns the end offset (high-water mark) of a partition of
// topic: the offset its next message will have. Each call connects anew:
// it is meant for once per partition recovery, not per message.
func (c Config) EndOffset(topic string, partition int32) (int64, error) {
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return 0, c.unreachable(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		return 0, fmt.Errorf("end offset of %s/%d: %w", topic, partition, err)
	}
	return end, nil
}
