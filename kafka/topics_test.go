package kafka_test

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/wallet/wallet/broker"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// EnsureTopics creates every edge of the graphs, with the settings of its
// kind, and nothing else.
func TestEnsureTopicsCreatesEveryEdge(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir(), broker.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 3}
	if err := c.EnsureTopics(); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}

	edges := map[string]string{} // topic -> cleanup.policy
	for _, g := range topology.Graphs() {
		for _, e := range append(g.InputStreams(), g.OutputStreams()...) {
			edges[e.Topic()] = "delete"
		}
		if tbl := g.GroupTable(); tbl != nil {
			edges[tbl.Topic()] = "compact"
		}
	}
	admin, err := sarama.NewClusterAdmin(c.Brokers, c.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	created, err := admin.ListTopics()
	if err != nil {
		t.Fatal(err)
	}
	for name, detail := range created {
		policy, ok := edges[name]
		if !ok {
			t.Errorf("created topic %s is not an edge of the graphs", name)
			continue
		}
		if detail.NumPartitions != 3 {
			t.Errorf("topic %s has %d partitions, want 3", name, detail.NumPartitions)
		}
		if got := detail.ConfigEntries["cleanup.policy"]; got == nil || *got != policy {
			t.Errorf("topic %s has cleanup.policy %v, want %s", name, got, policy)
		}
	}
	for name := range edges {
		if _, ok := created[name]; !ok {
			t.Errorf("edge %s of the graphs was not created", name)
		}
	}
}
