package chaos

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

func TestExplainUnconfirmedSubsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	j := newJournal(rng, 50, 5)
	for _, tr := range j.transfers {
		tr.sent, tr.outcome, tr.found, tr.status = true, accepted, true, wallet.Completed
	}
	j.transfers[3].outcome, j.transfers[3].found = unconfirmed, false
	j.transfers[7].outcome, j.transfers[7].found = unconfirmed, false
	want, maybe := expected(j.names, j.transfers)
	if len(maybe) != 2 {
		t.Fatalf("maybe = %d transfers, want 2", len(maybe))
	}
	got := append([]int64(nil), want...)
	if mask, ok := explain(want, got, maybe); !ok || mask != 0 {
		t.Fatalf("none applied: explain = %b, %v", mask, ok)
	}
	got[maybe[1].from] -= maybe[1].cents
	got[maybe[1].to] += maybe[1].cents
	if mask, ok := explain(want, got, maybe); !ok || mask != 2 {
		t.Fatalf("second applied: explain = %b, %v", mask, ok)
	}
	got[maybe[1].to] += maybe[1].cents // credited twice
	if _, ok := explain(want, got, maybe); ok {
		t.Fatal("a doubled credit was explained")
	}
}

func TestDiagnoseLostAndDoubled(t *testing.T) {
	j := &journal{index: map[string]int32{}}
	a, b, c := j.account("a"), j.account("b"), j.account("c")
	t1 := &transfer{id: uuid.New(), from: a, to: b, cents: 150, sent: true, outcome: accepted, found: true, status: wallet.Completed}
	t2 := &transfer{id: uuid.New(), from: b, to: c, cents: 7, sent: true, outcome: accepted, found: true, status: wallet.Completed}
	transfers := []*transfer{t1, t2}
	want, _ := expected(j.names, transfers)
	got := []int64{want[a], want[b] - 150, want[c] + 7} // t1's credit lost, t2's credit doubled
	d := diagnose(j.names, transfers, want, got)
	if len(d) != 2 {
		t.Fatalf("diagnose = %+v, want 2 accounts", d)
	}
	if d[0].Account != "b" || d[0].Verdict != "lost" || d[0].RequestID != t1.id.String() || d[0].Diff != "-1.50" {
		t.Errorf("b: %+v, want lost %s -1.50", d[0], t1.id)
	}
	if d[1].Account != "c" || d[1].Verdict != "doubled" || d[1].RequestID != t2.id.String() {
		t.Errorf("c: %+v, want doubled %s", d[1], t2.id)
	}
}

func TestProbeAccounts(t *testing.T) {
	for p := range 4 {
		if got := partitionOf(accountIn(p, 4, "probe-from"), 4); got != p {
			t.Errorf("accountIn(%d) hashes to %d", p, got)
		}
	}
}

// Only completed transfers count; rejected ones moved nothing, and an
// accepted transfer whose outcome is unknown may or may not have.
func TestExpectedFromCompleted(t *testing.T) {
	j := &journal{index: map[string]int32{}, ghost: map[int32]bool{}}
	a, b, w := j.account("a"), j.account("b"), j.account(wallet.World)
	done := func(from, to int32, cents int64, status wallet.Status, reason string) *transfer {
		return &transfer{id: uuid.New(), from: from, to: to, cents: cents, sent: true, outcome: accepted, found: true, status: status, reason: reason}
	}
	pending := &transfer{id: uuid.New(), from: a, to: b, cents: 1, sent: true, outcome: accepted, found: true, status: wallet.Pending}
	ts := []*transfer{
		done(w, a, 10000, wallet.Completed, ""),
		done(a, b, 2500, wallet.Completed, ""),
		done(a, b, 9000, wallet.Rejected, wallet.ReasonInsufficientFunds),
		done(b, w, 500, wallet.Completed, ""),
		pending,
	}
	want, maybe := expected(j.names, ts)
	if want[a] != 7500 || want[b] != 2000 || want[w] != -9500 {
		t.Errorf("want %v, not a 75.00, b 20.00, @world -95.00", want)
	}
	if len(maybe) != 1 || maybe[0] != pending {
		t.Errorf("maybe = %v, want the pending transfer", maybe)
	}
}

func TestOutcomeChecks(t *testing.T) {
	j := &journal{index: map[string]int32{}, ghost: map[int32]bool{}}
	a, b := j.account("a"), j.account("b")
	g := j.account("ghost-00000")
	j.ghost[g] = true
	shown := func(tr *transfer, cents int64, status wallet.Status, reason string) *transfer {
		tr.sent, tr.outcome, tr.found, tr.status, tr.reason = true, accepted, true, status, reason
		tr.shown = wallet.Transfer{RequestID: tr.id, From: j.names[tr.from], To: j.names[tr.to], Amount: wallet.Cents(cents)}
		return tr
	}
	good := shown(&transfer{id: uuid.New(), from: a, to: b, cents: 100}, 100, wallet.Completed, "")
	overwritten := shown(&transfer{id: uuid.New(), from: a, to: b, cents: 100}, 101, wallet.Completed, "")
	toGhost := shown(&transfer{id: uuid.New(), from: a, to: g, cents: 100, kind: viaKafka}, 100, wallet.Completed, "")
	refunded := shown(&transfer{id: uuid.New(), from: a, to: g, cents: 100, kind: viaKafka}, 100, wallet.Rejected, wallet.ReasonAccountNotFound)
	var r outcomeResult
	r.check(j.names, []*transfer{good, overwritten, toGhost, refunded}, j.isGhost)
	if len(r.violations) != 2 || !strings.Contains(r.violations[0], "not as first posted") || !strings.Contains(r.violations[1], "never signed up") {
		t.Errorf("violations %q, want the overwritten body and the completed transfer to a ghost", r.violations)
	}
	r = outcomeResult{}
	n409, n201 := r.checkConflicts([]*conflict{{orig: good, cents: 200, code: 409}, {orig: good, cents: 300, code: 201}, {orig: overwritten, cents: 101, code: 201}})
	if n409 != 1 || n201 != 2 || len(r.violations) != 1 || !strings.Contains(r.violations[0], overwritten.id.String()) {
		t.Errorf("409 %d, 201 %d, violations %q", n409, n201, r.violations)
	}
}
