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
