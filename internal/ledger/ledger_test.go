package ledger_test

import (
	"slices"
	"testing"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/ledger"
)

func TestAddMergeExpected(t *testing.T) {
	var l, o ledger.Ledger
	l.Add(1, "a", "b", 150)
	o.Add(7, "b", "c", 50)
	l.Merge(&o)
	if l.Balance("a") != -150 || l.Balance("b") != 100 || l.Balance("c") != 50 || l.Sum() != 0 || l.Len() != 3 {
		t.Errorf("balances a %d b %d c %d, sum %d, %d accounts", l.Balance("a"), l.Balance("b"), l.Balance("c"), l.Sum(), l.Len())
	}
	p := l.Expected(map[string]bool{"a": true})
	if len(p) != 2 || p[0].Account != "b" && p[0].Account != "c" {
		t.Errorf("Expected = %+v, want b and c first", p)
	}
	if got := l.Accounts(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Accounts = %v", got)
	}
}

func TestApplyAfterAdd(t *testing.T) {
	var l ledger.Ledger
	l.Open("idle", "x")
	l.Add(5, "x", "y", 1)
	l.Apply(wallet.Transfer{From: "z", To: "w", Amount: wallet.MustParseMoney("0.50")})
	if l.Balance("w") != 50 || l.Balance("idle") != 0 || l.Len() != 5 {
		t.Errorf("w %d, idle %d, %d accounts", l.Balance("w"), l.Balance("idle"), l.Len())
	}
	if p := l.Expected(nil); p[0].Account != "z" && p[0].Account != "w" {
		t.Errorf("Expected = %+v: the applied transfer is not the latest", p)
	}
}
