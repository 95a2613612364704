package loadgen

import (
	"fmt"
	"io"
	"strings"

	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// processingReport is what a -processing run measured; -json prints it as
// is.
type processingReport struct {
	Scenario scenario `json:"scenario"`
	// System is what was timed: "wallet", or "kafka-streams" and its
	// processing guarantee.
	System   string `json:"system"`
	Broker   string `json:"broker"` // "embedded" or the addresses
	Seed     uint64 `json:"seed"`
	Revision string `json:"revision,omitempty"`

	// Set-up, not timed: accounts signed up, each given Deposit, or more
	// if it sends more (LargerDeposits of them).
	SignedUp       int     `json:"signed_up"`
	Deposit        string  `json:"deposit"`
	LargerDeposits int     `json:"larger_deposits"`
	SetupSeconds   float64 `json:"setup_s"`
	// PreloadSeconds is how long writing the N transfers took (not timed).
	PreloadSeconds float64 `json:"preload_s"`
	// Mix is what the N transfer requests are.
	Mix mix `json:"mix"`

	// The timed phase: from the processors' start until every outcome
	// is written and no group lags.
	N                  int     `json:"n"`
	ElapsedSeconds     float64 `json:"elapsed_s"`
	PerS               float64 `json:"transfers_per_s"`
	FirstCommitSeconds float64 `json:"first_commit_s"` // when a group's committed offsets first moved

	// Outcomes counts the outcomes written in the timed phase by status
	// and reason ("completed", "rejected insufficient_funds").
	Outcomes            map[string]int64 `json:"outcomes"`
	Completed           int64            `json:"completed"`
	Rejected            int64            `json:"rejected"`
	DeadLetters         int64            `json:"dead_letters"`
	InstructionMessages int64            `json:"instruction_messages"` // debits, credits, refunds written to wallet.payment
	Changelogs          []changelog      `json:"changelogs"`

	// Check is how the outcomes, statuses and balances compared with
	// the model.
	Check checkResult `json:"check"`

	// CPU is the system's CPU time in the timed phase: for the wallet
	// this process's (the processors, the harness reading the lag and
	// the outcomes, and the broker unless -brokers), for Kafka Streams
	// the JVM's; PerTransfer divides it by N. PeakRSSMiB is the process's
	// peak resident memory.
	CPUSeconds           float64 `json:"cpu_s"`
	CPUMicrosPerTransfer float64 `json:"cpu_us_per_transfer"`
	CPUCores             float64 `json:"cpu_cores_used"`
	PeakRSSMiB           float64 `json:"peak_rss_mib,omitempty"`
	// HarnessCPUSeconds is this process's own CPU time in the timed phase
	// when the system runs in another (Kafka Streams): what the wallet's
	// figure includes besides its processors.
	HarnessCPUSeconds float64 `json:"harness_cpu_s,omitempty"`
	// Broker* is the broker process's CPU time in the timed phase
	// (-broker-pid).
	BrokerPID                  int     `json:"broker_pid,omitempty"`
	BrokerCPUSeconds           float64 `json:"broker_cpu_s,omitempty"`
	BrokerCPUMicrosPerTransfer float64 `json:"broker_cpu_us_per_transfer,omitempty"`
	NumCPU                     int     `json:"num_cpu"`
	LoadBefore                 string  `json:"loadavg_before,omitempty"`
	LoadAfter                  string  `json:"loadavg_after,omitempty"`
}

// changelog is what a group table's changelog received in the timed
// phase (record sizes are key plus value). Offsets is how many offsets the
// phase took, transaction markers included: on a broker that compacts the
// changelog while the system writes it, far more than Records, which then
// counts only the records compaction left.
type changelog struct {
	Topic              string  `json:"topic"`
	Offsets            int64   `json:"offsets"`
	Records            int64   `json:"records"`
	Bytes              int64   `json:"bytes"`
	RecordsPerTransfer float64 `json:"records_per_transfer"`
	BytesPerTransfer   float64 `json:"bytes_per_transfer"`
}

func (r *processingReport) writeJSON(w io.Writer) error { return harness.WriteJSON(w, r) }

func (r *processingReport) writeText(w io.Writer) error {
	var b strings.Builder
	s := r.Scenario
	fmt.Fprintf(&b, "scenario      processing: n=%d accounts=%d skew=%s", s.N, s.Accounts, s.Skew)
	if s.ZipfS != "" {
		fmt.Fprintf(&b, " (s=%s)", s.ZipfS)
	}
	fmt.Fprintf(&b, " hot-share=%d%% repost=%d%% overdraft=%d%% unknown=%d%% withdraw=%d%% prefix=%s partitions=%d broker=%s seed=%d",
		s.HotShare, s.Repost, s.Overdraft, s.Unknown, s.Withdraw, s.Prefix, s.Partitions, r.Broker, r.Seed)
	if r.Revision != "" {
		fmt.Fprintf(&b, " revision=%s", r.Revision)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "system        %s\n", r.System)
	fmt.Fprintf(&b, "set-up        %d accounts signed up and given $%s each (%d of them more, what they send) in %.2fs (not timed)\n",
		r.SignedUp, r.Deposit, r.LargerDeposits, r.SetupSeconds)
	m := r.Mix
	fmt.Fprintf(&b, "preload       %d transfer requests written to the request log in %.2fs (not timed): %d distinct, %d re-posts; %d overdraft attempts, %d to unknown accounts, %d withdrawals\n",
		r.N, r.PreloadSeconds, m.Distinct, m.Reposts, m.Overdrafts, m.Unknown, m.Withdrawals)
	fmt.Fprintf(&b, "processed     %.0f/s (%d transfer requests, the system's start to zero lag in %.2fs; first outcome after %.2fs)\n",
		r.PerS, r.N, r.ElapsedSeconds, r.FirstCommitSeconds)
	fmt.Fprintf(&b, "outcomes      %d completed, %d rejected (%s); %d dead letters; %d instruction messages (%.2f per request)\n",
		r.Completed, r.Rejected, ledger.OutcomesText(r.Outcomes), r.DeadLetters, r.InstructionMessages, float64(r.InstructionMessages)/float64(max(r.N, 1)))
	for _, c := range r.Changelogs {
		fmt.Fprintf(&b, "changelog     %s: %d records in %d offsets, %d bytes (%.2f records, %.0f B per request)\n", c.Topic, c.Records, c.Offsets, c.Bytes, c.RecordsPerTransfer, c.BytesPerTransfer)
	}
	c := r.Check
	if c.Violations == 0 {
		fmt.Fprintf(&b, "check         the model agrees: %d outcomes, %d transfers' statuses, %d accounts' balances\n", c.Outcomes, c.Statuses, c.Balances)
	} else {
		fmt.Fprintf(&b, "check         %d DISAGREEMENTS with the model (%d outcomes, %d statuses, %d balances read): %s\n",
			c.Violations, c.Outcomes, c.Statuses, c.Balances, strings.Join(c.Examples, "; "))
	}
	fmt.Fprintf(&b, "cpu           system: %.1fs of CPU, %.0f µs per request, %.2f of %d cores busy, peak %.0f MiB resident",
		r.CPUSeconds, r.CPUMicrosPerTransfer, r.CPUCores, r.NumCPU, r.PeakRSSMiB)
	if r.HarnessCPUSeconds > 0 {
		fmt.Fprintf(&b, "; harness %.1fs", r.HarnessCPUSeconds)
	}
	if r.BrokerPID != 0 {
		fmt.Fprintf(&b, "; broker (pid %d): %.1fs, %.0f µs per request", r.BrokerPID, r.BrokerCPUSeconds, r.BrokerCPUMicrosPerTransfer)
	}
	fmt.Fprintf(&b, "; load average %s before, %s after\n", orNA(r.LoadBefore), orNA(r.LoadAfter))
	_, err := io.WriteString(w, b.String())
	return err
}
