package run

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// consumerLag is the lag the processors' lag watcher last read (watchLag):
// of every group on every partition of its inputs, whichever process holds
// the partition, so every processor serves the same values.
var consumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "wallet_consumer_lag_messages",
	Help: "Messages of an input partition its group has not committed yet, as last read by the lag watcher (every few seconds).",
}, []string{"group", "topic", "partition"})

// startLags creates the lag gauge's series, at zero, for every group on
// each of the partitions of its inputs, from the graphs: so that a scrape
// shows every series from the start rather than after the lag watcher's
// first read. Series already there keep their values.
func startLags(partitions int) {
	for _, in := range topology.Inputs() {
		for p := range partitions {
			consumerLag.WithLabelValues(string(in.Group), string(in.Topic), strconv.Itoa(p))
		}
	}
}

// recordLags sets the lag gauge from lags.
func recordLags(lags []kafka.Lag) {
	for _, l := range lags {
		consumerLag.WithLabelValues(string(l.Group), string(l.Topic), strconv.Itoa(int(l.Partition))).Set(float64(l.Messages()))
	}
}
