package loadgen

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// report is everything a run measured; -json prints it as is.
type report struct {
	Scenario scenario `json:"scenario"`
	Revision string   `json:"revision,omitempty"` // of the wallet and loadgen, when the build recorded it

	// The signup phase, before the load: every account the run uses.
	Signups       int     `json:"signups"`
	SignupSeconds float64 `json:"signup_s"`
	SignupPosts   int64   `json:"signup_posts"`
	SignupPending int64   `json:"signup_202s"` // answered 202: posted again
	// The funding phase, after it: a deposit into every sender, applied.
	Deposits       int     `json:"deposits"`
	DepositSeconds float64 `json:"deposit_s"`
	Deposited      string  `json:"deposited"`

	Posts      int64          `json:"posts"`
	Created    int64          `json:"created"`  // 201 answers, re-posts and probes included
	Accepted   int64          `json:"accepted"` // distinct load transfers answered 201
	Reposts    int64          `json:"reposts"`
	Rejected   int64          `json:"rejected"`
	Lost       int64          `json:"unconfirmed"`
	Probes     int            `json:"probes"`
	Moved      string         `json:"amount_moved"` // "%d.%02d"
	Errors     map[string]int `json:"errors"`
	Uncertain  int            `json:"uncertain_accounts"`
	Checked    int            `json:"checked_accounts"`
	Drained    bool           `json:"drained"`
	Mismatches []string       `json:"mismatches,omitempty"`

	// The special shares of the load, and the outcomes read with GET after
	// it: every overdraft attempt, withdrawal, transfer to an unknown name
	// answered 201 and re-used request ID, and a sample of the rest.
	Special           specialCounts  `json:"special"`
	Outcomes          map[string]int `json:"outcomes"`
	OutcomesRead      int            `json:"outcomes_read"`
	OutcomeGets       int64          `json:"outcome_gets"`
	OutcomeViolations []string       `json:"outcome_violations,omitempty"`

	SendSeconds    float64 `json:"send_s"`
	AcceptedPerS   float64 `json:"accepted_per_s"` // 201s over the send time
	AppliedSeconds float64 `json:"applied_s"`      // first POST to every balance right
	AppliedPerS    float64 `json:"applied_per_s"`  // accepted over applied_s
	VerifySeconds  float64 `json:"verify_s"`       // from the last answer to every balance right
	// LastProbe* time the probe sent after the load instead of the balance
	// checks, whose own length (a GET per account) inflates applied_s with
	// many accounts. An estimate: the last probe's partitions may be ahead
	// of others.
	LastProbeSeconds float64 `json:"last_probe_s,omitempty"`
	LastProbePerS    float64 `json:"applied_per_s_by_last_probe,omitempty"`
	VerifyGets       int64   `json:"verify_gets"`

	// CPU is the process's CPU time from the first POST to every balance
	// right (with -embedded: the whole wallet and loadgen), and its share
	// of the machine's cores; the load averages say whether others ran.
	CPUSeconds float64 `json:"cpu_s"`
	CPUCores   float64 `json:"cpu_cores_used"`
	NumCPU     int     `json:"num_cpu"`
	LoadBefore string  `json:"loadavg_before,omitempty"`
	LoadAfter  string  `json:"loadavg_after,omitempty"`

	PostLatency  latency `json:"post_latency"`
	ApplyLatency latency `json:"apply_latency"`
	// ProbesUnfinished were not visible by the deadline: their samples
	// are the time waited, so the apply percentiles are lower bounds.
	ProbesUnfinished int `json:"probes_unfinished"`

	Bound      *boundResult `json:"bound,omitempty"`
	BoundRatio float64      `json:"bound_ratio,omitempty"` // applied_per_s / bound
}

// scenario is the run's settings.
type scenario struct {
	Mode        string `json:"mode"` // load, probe or processing
	Embedded    bool   `json:"embedded"`
	Partitions  int    `json:"partitions,omitempty"`
	N           int    `json:"n"`
	Concurrency int    `json:"concurrency"`
	Rate        int    `json:"rate"`
	Accounts    int    `json:"accounts"`
	Skew        string `json:"skew"`
	ZipfS       string `json:"zipf_s,omitempty"`
	HotShare    int    `json:"hot_share"`
	Repost      int    `json:"repost"`
	Overdraft   int    `json:"overdraft"`
	Unknown     int    `json:"unknown"`
	Withdraw    int    `json:"withdraw"`
	Conflict    int    `json:"conflict"`
	Prefix      string `json:"prefix"`
}

func newScenario(c config) scenario {
	s := scenario{
		Mode: "load", Embedded: c.embedded, N: c.n, Concurrency: c.concurrency, Rate: c.rate,
		Accounts: c.accounts, Skew: c.skew, HotShare: c.hotShare, Repost: c.repost, Prefix: c.prefix,
		Overdraft: c.overdraft, Unknown: c.unknown, Withdraw: c.withdraw, Conflict: c.conflict,
	}
	if c.embedded || c.processing {
		s.Partitions = c.partitions
	}
	if c.skew == "zipf" {
		s.ZipfS = fmt.Sprint(c.zipfS)
	}
	if c.probeOnly {
		s.Mode, s.Concurrency = "probe", 1
	}
	if c.processing {
		s.Mode, s.Concurrency = "processing", 0
	}
	return s
}

func (r *report) writeJSON(w io.Writer) error { return harness.WriteJSON(w, r) }

func (r *report) writeText(w io.Writer) error {
	var b strings.Builder
	s := r.Scenario
	fmt.Fprintf(&b, "scenario      %s: n=%d concurrency=%d rate=%s accounts=%d skew=%s", s.Mode, s.N, s.Concurrency, rateText(s.Rate), s.Accounts, s.Skew)
	if s.ZipfS != "" {
		fmt.Fprintf(&b, " (s=%s)", s.ZipfS)
	}
	fmt.Fprintf(&b, " hot-share=%d%% repost=%d%% overdraft=%d%% unknown=%d%% withdraw=%d%% conflict=%d%% prefix=%s",
		s.HotShare, s.Repost, s.Overdraft, s.Unknown, s.Withdraw, s.Conflict, s.Prefix)
	if s.Embedded {
		fmt.Fprintf(&b, " embedded partitions=%d", s.Partitions)
	}
	if r.Revision != "" {
		fmt.Fprintf(&b, " revision=%s", r.Revision)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "signups       %d accounts signed up in %.2fs before the load (%.0f/s; %d POSTs, %d answered 202)\n",
		r.Signups, r.SignupSeconds, perSecond(int64(r.Signups), time.Duration(r.SignupSeconds*float64(time.Second))), r.SignupPosts, r.SignupPending)
	fmt.Fprintf(&b, "totals        %d POSTs, %d answered 201 (%d distinct transfers, %d re-posts, %d probes), %d rejected, %d unconfirmed; $%s moved\n",
		r.Posts, r.Created, r.Accepted, r.Reposts, r.Probes, r.Rejected, r.Lost, r.Moved)
	fmt.Fprintf(&b, "funding       %d deposits of $%s in %.2fs before the load, each waited for (Prefer: wait)\n", r.Deposits, r.Deposited, r.DepositSeconds)
	sp := r.Special
	fmt.Fprintf(&b, "outcomes      %s (%d read with GET: every overdraft, withdrawal and re-used ID, a sample of the rest; the balances check all); %d withdrawals, %d overdraft attempts, %d to unknown names answered 404 (%d 201), %d conflicting re-uses answered 409 (%d 201)\n",
		ledger.OutcomesText(r.Outcomes), r.OutcomesRead, sp.Withdrawals, sp.Overdrafts, sp.UnknownRefused, sp.UnknownStored, sp.Conflicts409, sp.Conflicts201)
	for i, v := range r.OutcomeViolations {
		if i == 10 {
			fmt.Fprintf(&b, "              ... %d more\n", len(r.OutcomeViolations)-10)
			break
		}
		fmt.Fprintf(&b, "VIOLATION     %s\n", v)
	}
	fmt.Fprintf(&b, "errors        %s\n", harness.CountsText(r.Errors))
	fmt.Fprintf(&b, "accepted      %.0f/s (201s over %.2fs of sending)\n", r.AcceptedPerS, r.SendSeconds)
	if r.Drained {
		fmt.Fprintf(&b, "applied       %.0f/s end to end (%d transfers, first POST to all %d balances right in %.2fs; verifying took %.2fs after the last answer, %d GETs)\n",
			r.AppliedPerS, r.Accepted, r.Checked, r.AppliedSeconds, r.VerifySeconds, r.VerifyGets)
		if r.LastProbeSeconds > 0 {
			fmt.Fprintf(&b, "              %.0f/s estimated by the last probe, sent after the load, visible %.2fs after the first POST\n", r.LastProbePerS, r.LastProbeSeconds)
		}
	} else {
		fmt.Fprintf(&b, "applied       NOT DRAINED: %d of %d accounts still wrong at the deadline, e.g. %s\n", len(r.Mismatches), r.Checked, strings.Join(r.Mismatches, "; "))
	}
	if r.Uncertain > 0 {
		fmt.Fprintf(&b, "              %d accounts left out: touched by a transfer without a 201\n", r.Uncertain)
	}
	fmt.Fprintf(&b, "cpu           %.1fs of CPU, %.2f of %d cores busy in this process; load average %s before, %s after\n",
		r.CPUSeconds, r.CPUCores, r.NumCPU, orNA(r.LoadBefore), orNA(r.LoadAfter))
	p := r.PostLatency
	fmt.Fprintf(&b, "POST latency  p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  (%d POSTs)\n", p.P50, p.P90, p.P99, p.Max, p.Count)
	a := r.ApplyLatency
	lb := ""
	if r.ProbesUnfinished > 0 {
		lb = fmt.Sprintf("; %d never visible by the deadline: figures are lower bounds", r.ProbesUnfinished)
	}
	fmt.Fprintf(&b, "apply latency p50 %.2fms  p99 %.2fms  max %.2fms  (%d probes, 201 to visible in the view%s)\n", a.P50, a.P99, a.Max, a.Count, lb)
	if k := r.Bound; k != nil {
		fmt.Fprintf(&b, "bound         produce %.0f msgs/s, consume %.0f msgs/s (%d msgs of %d B, acks=all); / %d writes per transfer = %.0f transfers/s\n",
			k.ProducePerS, k.ConsumePerS, k.Messages, k.MessageBytes, k.Writes, k.BoundPerS)
		fmt.Fprintf(&b, "ratio         %.1f%% of the bound (applied/s / bound)\n", 100*r.BoundRatio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rateText(r int) string {
	if r == 0 {
		return "max"
	}
	return fmt.Sprintf("%d/s", r)
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}
