package processors

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	dto "github.com/prometheus/client_model/go"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// The processors' metrics, served with the process's others on GET
// /metrics. They count what this process did: several processes share the
// work, so a total over the wallet is the sum over its processes.
var (
	transfers = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_transfers_total",
		Help: "Transfers made final by paymentd, by status and reason (empty when completed).",
	}, []string{"status", "reason"})
	signups = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_signups_total",
		Help: "Claims of an account name decided: won (the first claim opens the account) or taken (another claim owns it), decided_by the signup group (a claim written to Kafka) or the API's view (a claim refused without being written, its name or a look-alike owned already).",
	}, []string{"outcome", "decided_by"})
	instructions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_instructions_total",
		Help: "Instructions met by the accountant: applied (decided), replayed (one the account's state already reflects, delivered again after an aborted transaction or replayed from an older offset: nothing changes, nothing is emitted).",
	}, []string{"result"})
	deadLetterCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_dead_letters_total",
		Help: "Inputs sent to the dead-letter topic, by the topic they came from.",
	}, []string{"topic"})
	tableRecords = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_table_records_total",
		Help: "Table records met: recovered (read from a changelog to rebuild a local table), stale (older than the version stored, ignored), undecodable (stored, so that the key's inputs go to the dead letters), forged (written by no processor, ignored).",
	}, []string{"kind"})
)

// The label values of the counters above, created at start so that a
// scrape shows them at zero rather than not at all: increase() then sees
// the first event (Prometheus's instrumentation guidelines, "avoid missing
// metrics").
var (
	applied     = instructions.WithLabelValues("applied")
	replayed    = instructions.WithLabelValues("replayed")
	recovered   = tableRecords.WithLabelValues("recovered")
	stale       = tableRecords.WithLabelValues("stale")
	undecodable = tableRecords.WithLabelValues("undecodable")
	forged      = tableRecords.WithLabelValues("forged")
	won         = signups.WithLabelValues("won", "group")
	taken       = signups.WithLabelValues("taken", "group")
	takenInView = signups.WithLabelValues("taken", "view")
)

// finalOutcomes are the statuses and reasons a transfer ends with: the
// label values of wallet_transfers_total, and the outcomes the accountant
// reports (wallet.Outcome.Validate).
var finalOutcomes = []wallet.Outcome{
	{Status: wallet.Completed},
	{Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds},
	{Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound},
}

// The label values that come from a list, created at start like those
// above: every final outcome, and every topic a group consumes (from the
// graphs).
func init() {
	for _, o := range finalOutcomes {
		transfers.WithLabelValues(string(o.Status), o.Reason)
	}
	for _, in := range topology.Inputs() {
		deadLetterCount.WithLabelValues(string(in.Topic))
	}
}

// CountTakenInView counts a claim that the API refused from the signup
// view without writing it, its name (or a look-alike of it) owned
// already: the signup group never decides such a claim, so the API counts
// it, as wallet_signups_total{outcome="taken",decided_by="view"}. A
// client's retry is another refusal, as a claim written again is another
// decision of the group.
func CountTakenInView() { takenInView.Inc() }

// count returns the value of counter c: the tests read the counters
// through the accessors below.
func count(c prometheus.Counter) int64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return int64(m.GetCounter().GetValue())
}
