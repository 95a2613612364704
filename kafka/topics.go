package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/wallet/wallet/topology"
)

// EnsureTopics creates every topic and table of the wallet that does not
// exist yet, and checks that every one has the configured number of
// partitions: keys are routed by partition, so a mismatch would apply
// instructions in the wrong place. Streams are deleted by age after Retention;
// tables are compacted, keeping the last value of every key. Several
// processes may call it at once. Only missing topics are created, so that
// on a broker with ACLs the processes need no right to create once the
// admin has (cmd/topics).
func (c Config) EnsureTopics() error {
	c = c.withDefaults()
	admin, err := c.admin()
	if err != nil {
		return err
	}
	defer admin.Close()

	isr := strconv.Itoa(c.MinInsyncReplicas)
	retention := strconv.FormatInt(c.Retention.Milliseconds(), 10)
	stream := map[string]*string{"cleanup.policy": ptr("delete"), "retention.ms": &retention, "min.insync.replicas": &isr}
	table := map[string]*string{"cleanup.policy": ptr("compact"), "min.insync.replicas": &isr}
	for _, t := range topology.Topics() {
		meta, err := admin.DescribeTopics([]string{t.Name})
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", t.Name, err)
		}
		if len(meta) == 1 && meta[0].Err == sarama.ErrTopicAuthorizationFailed {
			return fmt.Errorf("topic %s: this principal may not describe it: grant it the ACLs of its role (README, Secured Kafka)", t.Name)
		}
		if len(meta) != 1 || meta[0].Err != sarama.ErrNoError {
			config := stream
			if t.Kind == topology.Table {
				config = table
			}
			err := admin.CreateTopic(t.Name, &sarama.TopicDetail{
				NumPartitions:     int32(c.Partitions),
				ReplicationFactor: int16(c.Replication),
				ConfigEntries:     config,
			}, false)
			switch {
			case errors.Is(err, sarama.ErrTopicAuthorizationFailed), errors.Is(err, sarama.ErrClusterAuthorizationFailed):
				return fmt.Errorf("topic %s does not exist and this principal may not create it: create the topics as the admin principal first (`go run ./cmd/topics`)", t.Name)
			case err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists):
				return fmt.Errorf("create topic %s: %w", t.Name, err)
			}
		}
		if err := c.waitPartitions(admin, t.Name); err != nil {
			return err
		}
	}
	return nil
}

// waitPartitions waits until topic is visible with its partitions, which a
// real cluster takes a moment to do after creating it, and checks their
// number.
func (c Config) waitPartitions(admin sarama.ClusterAdmin, topic string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		meta, err := admin.DescribeTopics([]string{topic})
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", topic, err)
		}
		if len(meta) == 1 && meta[0].Err == sarama.ErrNoError && len(meta[0].Partitions) > 0 {
			if n := len(meta[0].Partitions); n != c.Partitions {
				return fmt.Errorf("topic %s has %d partitions but %d are configured: the wallet's topics are co-partitioned, so start every command with -partitions %d (or delete the topics to start afresh)",
					topic, n, c.Partitions, n)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s did not appear within 15s of its creation", topic)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ptr(s string) *string { return &s }

// RefuseVersion1 returns an error saying to start afresh when Kafka holds
// the wallet's topics as version 1 left them: a transfer log without the
// signup log that version 2 creates beside it. Version 2 reads none of
// version 1's instructions or table values.
func (c Config) RefuseVersion1() error {
	client, err := sarama.NewClient(c.Brokers, c.Sarama())
	if err != nil {
		return c.unreachable(err)
	}
	defer client.Close()
	// The topics in the metadata, which needs no right but to describe
	// them (an admin's ListTopics would also read their configurations).
	names, err := client.Topics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	transfers := slices.Contains(names, string(topology.TransferRequests))
	signups := slices.Contains(names, string(topology.SignupRequests))
	if transfers && !signups {
		return fmt.Errorf("Kafka at %s holds the topics of version 1 of the wallet, which version 2 does not read: start afresh (with `make run`, stop it and delete ./data; on another Kafka, delete the wallet.* topics and the *-table topics)",
			strings.Join(c.Brokers, ","))
	}
	return nil
}

// admin returns a cluster admin client of the topics.
func (c Config) admin() (sarama.ClusterAdmin, error) {
	s := c.Sarama()
	s.ClientID = "wallet-topics"
	admin, err := sarama.NewClusterAdmin(c.Brokers, s)
	if err != nil {
		return nil, c.unreachable(err)
	}
	return admin, nil
}
