package run

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wallet/wallet/kafka"
)

// consumerLag is the lag the processors' lag watcher last read (watchLag):
// of every group on every partition of its inputs, whichever process holds
// the partition, so every processor serves the same values.
var consumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "wallet_consumer_lag_messages",
	Help: "Messages of an input partition its group has not committed yet, as last read by the lag watcher (every few seconds).",
}, []string{"group", "topic", "partition"})

// recordLags sets the lag gauge from lags.
func recordLags(lags []kafka.Lag) {
	for _, l := range lags {
		consumerLag.WithLabelValues(string(l.Group), string(l.Topic), strconv.Itoa(int(l.Partition))).Set(float64(l.Messages()))
	}
}
