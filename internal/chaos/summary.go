package chaos

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/internal/ledger"
)

// summary is what a run prints.
type summary struct {
	Signups           *signupSummary `json:"signups,omitempty"`
	Funding           int            `json:"funding_deposits"`
	FundingAmount     string         `json:"funding_amount,omitempty"`
	Sent              int            `json:"transfers_sent"`
	ByKind            map[string]int `json:"sent_by_kind,omitempty"`
	Accepted          int            `json:"accepted"`
	Unconfirmed       int            `json:"unconfirmed"`
	Reposts           int            `json:"reposts"`
	Conflicts         int            `json:"conflicting_reuses"`
	Conflicts409      int            `json:"conflicts_answered_409"`
	Conflicts201      int            `json:"conflicts_answered_201"`
	Outcomes          map[string]int `json:"outcomes,omitempty"`
	NotFinal          int            `json:"accepted_not_final"`
	OutcomeGets       int64          `json:"outcome_gets"`
	OutcomeViolations int            `json:"outcome_violations"`
	UnconfCompleted   int            `json:"unconfirmed_completed"`
	UnconfRejected    int            `json:"unconfirmed_rejected"`
	Audit             string         `json:"audit,omitempty"`
	AuditViolations   []string       `json:"audit_violations,omitempty"`
	Rejected          int            `json:"rejected"`
	ProcessorKills    int            `json:"processor_kills"`
	ProcessorPauses   int            `json:"processor_pauses"`
	BrokerRestarts    int            `json:"broker_restarts"`
	Exits             int            `json:"process_exits"`
	Lost              int            `json:"lost"`
	Doubled           int            `json:"doubled"`
	AccountsWrong     int            `json:"accounts_wrong"`
	Sum               string         `json:"sum_of_balances"`
	Posts             int64          `json:"posts"`
	Unavailable       int64          `json:"answers_503"`
	ConnErrors        int64          `json:"connection_errors"`
	Errors            map[string]int `json:"unexpected_answers,omitempty"`
	UnconfApplied     int            `json:"unconfirmed_applied"`
	StaleRecords      int64          `json:"stale_table_records"`
	Throughput        float64        `json:"accepted_per_second"`
	Elapsed           float64        `json:"elapsed_seconds"`
	SendTime          float64        `json:"send_seconds"`
	DrainTime         float64        `json:"drain_seconds"`
	Failover          []failoverJSON `json:"failover,omitempty"`
	Wrong             []accountDiff  `json:"wrong_accounts,omitempty"`
	Revision          string         `json:"revision,omitempty"`
	Seed              uint64         `json:"seed"`
	Dir               string         `json:"dir"`
	Pass              bool           `json:"pass"`
	Reason            string         `json:"reason,omitempty"`

	failover    []failover
	elapsed     time.Duration
	sendTime    time.Duration
	drain       time.Duration
	fundTime    time.Duration
	outcomeTime time.Duration
}

type failoverJSON struct {
	Process      string    `json:"process"`
	Mode         string    `json:"mode"`
	Seconds      float64   `json:"seconds"`
	Baseline     float64   `json:"baseline_seconds"`
	PerPartition []float64 `json:"per_partition_seconds"`
}

// fail records a reason the run failed; the first ones are kept.
func (s *summary) fail(format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	if s.Reason == "" {
		s.Reason = reason
	} else {
		s.Reason += "; " + reason
	}
}

func (s *summary) finish() {
	s.Pass = s.Reason == ""
	s.Elapsed = s.elapsed.Seconds()
	s.SendTime = s.sendTime.Seconds()
	s.DrainTime = s.drain.Seconds()
	if s.sendTime > 0 {
		s.Throughput = float64(s.Accepted) / s.sendTime.Seconds()
	}
	for _, f := range s.failover {
		j := failoverJSON{Process: f.Process, Mode: f.Mode, Seconds: f.Max.Seconds(), Baseline: f.Baseline.Seconds()}
		for _, d := range f.PerPartition {
			j.PerPartition = append(j.PerPartition, d.Seconds())
		}
		s.Failover = append(s.Failover, j)
	}
}

func (s *summary) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return harness.WriteJSON(w, s)
	}
	var b strings.Builder
	if s.Signups != nil {
		fmt.Fprintf(&b, "%s\n", s.Signups)
	}
	fmt.Fprintf(&b, "funding: %d deposits, %s in %s\n", s.Funding, s.FundingAmount, s.fundTime.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "transfers sent: %d (%d transfers, %d deposits, %d withdrawals, %d to unknown names via Kafka)\n", s.Sent,
		s.ByKind[ordinary.String()], s.ByKind[deposit.String()], s.ByKind[withdrawal.String()], s.ByKind[viaKafka.String()])
	fmt.Fprintf(&b, "accepted: %d  unconfirmed: %d  re-posts: %d  conflicting re-uses: %d (409: %d, 201: %d)\n", s.Accepted, s.Unconfirmed, s.Reposts,
		s.Conflicts, s.Conflicts409, s.Conflicts201)
	fmt.Fprintf(&b, "outcomes: %s  (not final: %d; unconfirmed shown completed %d, rejected %d; %d GETs in %s)\n", ledger.OutcomesText(s.Outcomes), s.NotFinal,
		s.UnconfCompleted, s.UnconfRejected, s.OutcomeGets, s.outcomeTime.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "processor kills: %d  pauses: %d  broker restarts: %d  process exits: %d\n", s.ProcessorKills, s.ProcessorPauses, s.BrokerRestarts, s.Exits)
	fmt.Fprintf(&b, "lost: %d  doubled: %d  accounts wrong: %d\n", s.Lost, s.Doubled, s.AccountsWrong)
	fmt.Fprintf(&b, "sum of balances: %s\n", s.Sum)
	fmt.Fprintf(&b, "throughput: %.1f accepted/s  elapsed: %s (sends %s, drain %s)\n", s.Throughput,
		s.elapsed.Round(100*time.Millisecond), s.sendTime.Round(100*time.Millisecond), s.drain.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "posts: %d  503s: %d  connection errors: %d  unconfirmed applied: %d\n", s.Posts, s.Unavailable, s.ConnErrors, s.UnconfApplied)
	fmt.Fprintf(&b, "old account versions committed after newer ones (none, with fenced writers): %d\n", s.StaleRecords)
	if s.Audit != "" {
		fmt.Fprintf(&b, "audit: %s\n", s.Audit)
		for _, v := range s.AuditViolations {
			fmt.Fprintf(&b, "  audit violation: %s\n", v)
		}
	} else {
		b.WriteString("audit: not run\n")
	}
	if len(s.Errors) > 0 {
		fmt.Fprintf(&b, "unexpected answers: %s\n", harness.CountsText(s.Errors))
	}
	for _, f := range s.failover {
		fmt.Fprintf(&b, "failover: %s\n", f)
	}
	fmt.Fprintf(&b, "seed: %d  dir: %s", s.Seed, s.Dir)
	if s.Revision != "" {
		fmt.Fprintf(&b, "  built from: %s", s.Revision)
	}
	b.WriteString("\n")
	if s.Pass {
		b.WriteString("PASS\n")
	} else {
		fmt.Fprintf(&b, "FAIL: %s\n", s.Reason)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
