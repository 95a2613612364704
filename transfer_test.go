package wallet_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/wallet/wallet"
)

var primerID = uuid.MustParse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")

func TestInstructionsOfATransfer(t *testing.T) {
	tr := wallet.Transfer{RequestID: primerID, From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	debit := tr.Debit()
	credit := debit.Next()
	refund := credit.Next()
	got := []wallet.Instruction{debit, credit, refund}
	if debit.Account != "alice" || debit.Kind != wallet.Debit || debit.Signed().String() != "-0.50" {
		t.Errorf("debit = %+v", debit)
	}
	if credit.Account != "bob" || credit.Kind != wallet.Credit || credit.Signed().String() != "0.50" {
		t.Errorf("credit = %+v", credit)
	}
	if refund.Account != "alice" || refund.Kind != wallet.Refund || refund.Signed().String() != "0.50" || !refund.Transfer().Equal(tr) {
		t.Errorf("refund = %+v", refund)
	}
	for _, in := range got {
		if err := in.Validate(); err != nil {
			t.Errorf("%s: %v", in.Kind, err)
		}
	}
	if s := got[0].String(); s != primerID.String()+" Alice -$0.50" {
		t.Errorf("String() = %q", s)
	}
}

func TestValidateRejects(t *testing.T) {
	base := wallet.Transfer{RequestID: primerID, From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	tests := []struct {
		name   string
		change func(*wallet.Transfer)
		code   string
	}{
		{"nil UUID", func(t *wallet.Transfer) { t.RequestID = uuid.Nil }, wallet.ERequestIDInvalid},
		{"replacement character", func(t *wallet.Transfer) { t.From = "\uFFFDAlice" }, wallet.EAccountInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := base
			tt.change(&tr)
			if code := wallet.ErrorCode(tr.Validate(wallet.Money{})); code != tt.code {
				t.Errorf("code = %s, want %s", code, tt.code)
			}
		})
	}
}

// The maximums are settings: the codecs check what any transfer or
// instruction must be, and the processors check the bounds with the
// limits in force, stating them when they refuse.
func TestBounds(t *testing.T) {
	tr := wallet.Transfer{RequestID: primerID, From: "Alice", To: "Bob"}
	debit := func(amount string) wallet.Instruction {
		tr := tr
		tr.Amount = wallet.MustParseMoney(amount)
		return tr.Debit()
	}
	open := func(limit string) wallet.Instruction {
		return wallet.Instruction{RequestID: primerID, Kind: wallet.Open, Account: "alice", Username: "Alice", OverdraftLimit: wallet.MustParseMoney(limit)}
	}
	tests := []struct {
		name                    string
		in                      wallet.Instruction
		maxAmount, maxOverdraft string // "0" for the defaults
		want                    string // the error; "" for none
	}{
		{"the default maximum", debit("1000000000.00"), "0", "0", ""},
		{"a cent above the default maximum", debit("1000000000.01"), "0", "0", "amount_gt_max: ensure this value is at most 1000000000.00"},
		{"a forged huge credit", debit("92233720368547758.07").Next(), "0", "0", "amount_gt_max: ensure this value is at most 1000000000.00"}, // the largest Money
		{"a configured maximum", debit("5000.01"), "5000.00", "0", "amount_gt_max: ensure this value is at most 5000.00"},
		{"a configured maximum above the default", debit("2000000000.00"), "3000000000.00", "0", ""},
		{"an open within the default limit", open("1000.00"), "0", "0", ""},
		{"an open above the default limit", open("1000.01"), "0", "0", "overdraft_limit_invalid: overdraft limit must be from 0.00 to 1000.00"},
		{"an open above a configured limit", open("50.01"), "0", "50.00", "overdraft_limit_invalid: overdraft limit must be from 0.00 to 50.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.in.Validate(); err != nil {
				t.Fatalf("Validate: %v, want a valid instruction whatever the maximums", err)
			}
			if got := errText(tt.in.Bounded(wallet.MustParseMoney(tt.maxAmount), wallet.MustParseMoney(tt.maxOverdraft))); got != tt.want {
				t.Errorf("Bounded: %q, want %q", got, tt.want)
			}
			if tt.in.Kind == wallet.Open {
				return
			}
			tr := tt.in.Transfer()
			if err := tr.Check(); err != nil {
				t.Errorf("Check: %v, want a valid transfer whatever the maximum", err)
			}
			if got := errText(tr.Validate(wallet.MustParseMoney(tt.maxAmount))); got != tt.want {
				t.Errorf("Validate: %q, want %q", got, tt.want)
			}
		})
	}
}

// errText is err's text, "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
