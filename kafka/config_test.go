package kafka_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wallet/wallet/kafka"
)

func TestEnsureTopicsRefusesRetentionShorterThanDedupeMaxAge(t *testing.T) {
	c := kafka.Config{Brokers: []string{"127.0.0.1:1"}, Retention: time.Hour, DedupeMaxAge: 7 * 24 * time.Hour}
	err := c.EnsureTopics()
	if err == nil || !strings.Contains(err.Error(), "shorter than the dedupe window") {
		t.Errorf("EnsureTopics = %v, want a refusal naming the dedupe window", err)
	}
}

func TestParseBrokers(t *testing.T) {
	got := kafka.ParseBrokers(" a:1, b:2 ,,")
	if len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("ParseBrokers = %q", got)
	}
}
