package chaos

import (
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
)

func TestExplainUnconfirmedSubsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	j := newJournal(rng, 50, 5)
	for _, tr := range j.transfers {
		tr.sent, tr.outcome = true, accepted
	}
	j.transfers[3].outcome = unconfirmed
	j.transfers[7].outcome = unconfirmed
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
	t1 := &transfer{id: uuid.New(), from: a, to: b, cents: 150, sent: true, outcome: accepted}
	t2 := &transfer{id: uuid.New(), from: b, to: c, cents: 7, sent: true, outcome: accepted}
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

func TestProbeAccountsAndUUIDs(t *testing.T) {
	for p := range 4 {
		if got := partitionOf(accountIn(p, 4, "probe-from"), 4); got != p {
			t.Errorf("accountIn(%d) hashes to %d", p, got)
		}
	}
	u := randomUUID(rand.New(rand.NewPCG(1, 1)))
	if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		t.Errorf("randomUUID = %s: version %d variant %s", u, u.Version(), u.Variant())
	}
}
