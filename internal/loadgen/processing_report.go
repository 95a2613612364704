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
	Broker   string   `json:"broker"` // "embedded" or the addresses
	Seed     uint64   `json:"seed"`
	Revision string   `json:"revision,omitempty"`

	// Set-up, not timed: accounts signed up, each given Deposit.
	SignedUp     int     `json:"signed_up"`
	Deposit      string  `json:"deposit"`
	SetupSeconds float64 `json:"setup_s"`
	// PreloadSeconds is how long writing the N transfers took (not timed).
	PreloadSeconds float64 `json:"preload_s"`

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

	// CPU is the process's CPU time in the timed phase: the processors,
	// and the broker unless -brokers.
	CPUSeconds           float64 `json:"cpu_s"`
	CPUMicrosPerTransfer float64 `json:"cpu_us_per_transfer"`
	CPUCores             float64 `json:"cpu_cores_used"`
	NumCPU               int     `json:"num_cpu"`
	LoadBefore           string  `json:"loadavg_before,omitempty"`
	LoadAfter            string  `json:"loadavg_after,omitempty"`
}

// changelog is what a group table's changelog received in the timed
// phase (record sizes are key plus value).
type changelog struct {
	Topic              string  `json:"topic"`
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
	fmt.Fprintf(&b, " hot-share=%d%% prefix=%s partitions=%d broker=%s seed=%d", s.HotShare, s.Prefix, s.Partitions, r.Broker, r.Seed)
	if r.Revision != "" {
		fmt.Fprintf(&b, " revision=%s", r.Revision)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "set-up        %d accounts signed up and given $%s each in %.2fs (not timed)\n", r.SignedUp, r.Deposit, r.SetupSeconds)
	fmt.Fprintf(&b, "preload       %d transfers written to the request log in %.2fs (not timed)\n", r.N, r.PreloadSeconds)
	fmt.Fprintf(&b, "processed     %.0f/s (%d transfers, processors' start to zero lag in %.2fs; first commit after %.2fs)\n",
		r.PerS, r.N, r.ElapsedSeconds, r.FirstCommitSeconds)
	fmt.Fprintf(&b, "outcomes      %d completed, %d rejected (%s); %d dead letters; %d instruction messages (%.2f per transfer)\n",
		r.Completed, r.Rejected, ledger.OutcomesText(r.Outcomes), r.DeadLetters, r.InstructionMessages, float64(r.InstructionMessages)/float64(max(r.N, 1)))
	for _, c := range r.Changelogs {
		fmt.Fprintf(&b, "changelog     %s: %d records, %d bytes (%.2f records, %.0f B per transfer)\n", c.Topic, c.Records, c.Bytes, c.RecordsPerTransfer, c.BytesPerTransfer)
	}
	fmt.Fprintf(&b, "cpu           %.1fs of CPU, %.0f µs per transfer, %.2f of %d cores busy in this process; load average %s before, %s after\n",
		r.CPUSeconds, r.CPUMicrosPerTransfer, r.CPUCores, r.NumCPU, orNA(r.LoadBefore), orNA(r.LoadAfter))
	_, err := io.WriteString(w, b.String())
	return err
}
