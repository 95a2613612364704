package kafka_test

import (
	"testing"

	"github.com/wallet/wallet/kafka"
)

func TestParseBrokers(t *testing.T) {
	got := kafka.ParseBrokers(" a:1, b:2 ,,")
	if len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("ParseBrokers = %q", got)
	}
}
