package codecs_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
)

const primerID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"

func TestRoundTrip(t *testing.T) {
	transfer := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	debit := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Debit, Account: "alice", From: "Alice", To: "Bob", Amount: wallet.Cents(50)}
	open := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Open, Account: "bob", Username: "Bob", OverdraftLimit: wallet.Cents(1000)}
	claim := wallet.Claim{RequestID: uuid.MustParse(primerID), Username: "Bob", OverdraftLimit: wallet.Cents(1000)}
	hash := wallet.KeyHash{1}
	keyedClaim := claim
	keyedClaim.KeyHash = &hash
	instructionsEqual := func(a, b any) bool { return a.(wallet.Instruction).Equal(b.(wallet.Instruction)) }
	tests := []struct {
		name  string
		codec goka.Codec
		value any
		json  string
		equal func(a, b any) bool
	}{
		{"transfer", codecs.Transfer{}, transfer,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","amount":"0.50","to":"Bob"}`,
			func(a, b any) bool { return a.(wallet.Transfer).Equal(b.(wallet.Transfer)) }},
		{"instruction", codecs.Instruction{}, debit,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","kind":"debit","account":"alice","from":"Alice","to":"Bob","amount":"0.50"}`,
			instructionsEqual},
		{"instruction", codecs.Instruction{}, open,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","kind":"open","account":"bob","username":"Bob","overdraft_limit":"10.00"}`,
			instructionsEqual},
		{"claim", codecs.Claim{}, claim,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","username":"Bob","overdraft_limit":"10.00"}`,
			func(a, b any) bool { return a.(wallet.Claim).Equal(b.(wallet.Claim)) }},
		{"transfer", codecs.TransferLog{}, wallet.Outcome{RequestID: uuid.MustParse(primerID), Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds},
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","kind":"outcome","status":"rejected","reason":"insufficient_funds"}`,
			func(a, b any) bool { return a.(wallet.Outcome) == b.(wallet.Outcome) }},
		{"transfer", codecs.TransferLog{}, transfer,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","amount":"0.50","to":"Bob"}`,
			func(a, b any) bool { return a.(wallet.Transfer).Equal(b.(wallet.Transfer)) }},
		{"claim", codecs.Claim{}, keyedClaim,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","username":"Bob","overdraft_limit":"10.00","key_hash":"0100000000000000000000000000000000000000000000000000000000000000"}`,
			func(a, b any) bool { return a.(wallet.Claim).Equal(b.(wallet.Claim)) }},
		{"claim", codecs.Claim{}, wallet.KeyChange{RequestID: uuid.MustParse(primerID), Account: "bob", Issue: &hash, Revoke: "0a0b0c0d0e0f"},
			`{"kind":"key_change","request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","account":"bob","issue":"0100000000000000000000000000000000000000000000000000000000000000","revoke":"0a0b0c0d0e0f"}`,
			func(a, b any) bool {
				x, y := a.(wallet.KeyChange), b.(wallet.KeyChange)
				return x.RequestID == y.RequestID && x.Account == y.Account && *x.Issue == *y.Issue && x.Revoke == y.Revoke
			}},
		{"signup", codecs.Signup{}, wallet.Signup{Claim: keyedClaim, Offset: 7, NextOffset: 12, Keys: []wallet.Key{{Hash: hash, RequestID: uuid.MustParse(primerID)}}},
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","username":"Bob","overdraft_limit":"10.00","key_hash":"0100000000000000000000000000000000000000000000000000000000000000","offset":7,"keys":[{"hash":"0100000000000000000000000000000000000000000000000000000000000000","request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}],"next_offset":12}`,
			func(a, b any) bool {
				x, y := a.(wallet.Signup), b.(wallet.Signup)
				return x.Claim.Equal(y.Claim) && x.Offset == y.Offset && x.NextOffset == y.NextOffset && len(x.Keys) == 1 && x.Keys[0] == y.Keys[0]
			}},
		{"signup", codecs.Signup{}, wallet.Signup{Claim: claim, Offset: 7},
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","username":"Bob","overdraft_limit":"10.00","offset":7}`,
			func(a, b any) bool {
				x, y := a.(wallet.Signup), b.(wallet.Signup)
				return x.Claim.Equal(y.Claim) && x.Offset == y.Offset
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.codec.Encode(tt.value)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(b) != tt.json {
				t.Errorf("Encode = %s, want %s", b, tt.json)
			}
			got, err := tt.codec.Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !tt.equal(got, tt.value) {
				t.Errorf("Decode(Encode(v)) = %+v, want %+v", got, tt.value)
			}
			if _, err := tt.codec.Encode("not a " + tt.name); err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("Encode(string) error = %v, want one naming %s", err, tt.name)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name  string
		codec goka.Codec
		data  string
	}{
		{"transfer", codecs.Transfer{}, `{`},
		{"transfer", codecs.Transfer{}, `{}`},
		{"transfer", codecs.Transfer{}, `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0.001"}`},
		{"transfer", codecs.Transfer{}, `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"-1.00"}`},
		{"instruction", codecs.Instruction{}, `[]`},
		{"instruction", codecs.Instruction{}, `{"request_id":"` + primerID + `","kind":"up","account":"bob","to":"Bob","amount":"1.00"}`},
		{"instruction", codecs.Instruction{}, `{"request_id":"` + primerID + `","kind":"credit","account":"","from":"Alice","to":"Bob","amount":"1.00"}`},
		{"instruction", codecs.Instruction{}, `{"request_id":"` + primerID + `","kind":"credit","account":"carol","from":"Alice","to":"Bob","amount":"1.00"}`},
		{"instruction", codecs.Instruction{}, `{"request_id":"` + primerID + `","kind":"open","account":"bob","username":"Bob","overdraft_limit":"-1.00"}`},
		{"instruction", codecs.Instruction{}, `{"request_id":"` + primerID + `","kind":"debit","account":"alice","from":"Alice","to":"Bob"}`},
		{"claim", codecs.Claim{}, `{"request_id":"` + primerID + `","username":"Bob","overdraft_limit":"0.001"}`},
		{"claim", codecs.Claim{}, `{"request_id":"` + primerID + `","username":"@world"}`},
		{"claim", codecs.Claim{}, `{"username":"Bob"}`},
		{"claim", codecs.Claim{}, `{"request_id":"` + primerID + `","username":"Bob","overdraft_limit":"-1.00"}`},
		{"signup", codecs.Signup{}, `{"username":"Bob"}`},
		{"signup", codecs.Signup{}, `{"request_id":"` + primerID + `","username":"Bob","offset":7,"next_offset":7}`},
		{"claim", codecs.Claim{}, `{"kind":"key_change","request_id":"` + primerID + `","account":"bob"}`},                         // changes nothing
		{"claim", codecs.Claim{}, `{"kind":"key_change","request_id":"` + primerID + `","account":"Bob","revoke":"0a0b0c0d0e0f"}`}, // not a key
		{"claim", codecs.Claim{}, `{"kind":"key_change","request_id":"` + primerID + `","account":"bob","issue":"01"}`},
		{"claim", codecs.Claim{}, `{"kind":"close","request_id":"` + primerID + `","account":"bob"}`},
		{"outcome", codecs.TransferLog{}, `{"request_id":"` + primerID + `","kind":"outcome","status":"completed","reason":"insufficient_funds"}`},
		{"outcome", codecs.TransferLog{}, `{"request_id":"` + primerID + `","kind":"outcome","status":"pending"}`},
		{"outcome", codecs.TransferLog{}, `{"request_id":"` + primerID + `","kind":"outcome","status":"completed","amount":"1.00"}`},
		{"transfer log message", codecs.TransferLog{}, `{"request_id":"` + primerID + `","kind":"debit"}`},
		{"transfer state", codecs.TransferState{}, ``},
		{"transfer state", codecs.TransferState{}, `{"request_id":"` + primerID + `","status":"pending"}`}, // JSON is not the form
		{"transfer state", codecs.TransferState{}, "\x01\x03\x09p\x00short"},
		{"transfer state", codecs.TransferState{}, "\x02\x03\x00p\x00\x01\x02\x03\x04\x05Alice\x03Bob\x32"}, // next offset not after the request's
		{"transfer state", codecs.TransferState{}, "\x02\x03\x01p\x00\x01\x02\x03\x04\x05Alice\x03Bob\x00"}, // no amount
		{"transfer state", codecs.TransferState{}, "\x02\x03\x01p\x00\x01\x02\x03\x04\x05Alice\x03Bob"},     // truncated
		{"account", codecs.Account{}, ``},
		{"account", codecs.Account{}, `{"balance":"0.50"}`},
		{"account", codecs.Account{}, "\x01\x040.50\x00"},                          // version 1's format 1
		{"account", codecs.Account{}, "\x02\x05\x040.50\x00"},                      // and format 2
		{"account", codecs.Account{}, "\x03"},                                      // no next offset
		{"account", codecs.Account{}, "\x03\x80"},                                  // a truncated one
		{"account", codecs.Account{}, "\x03\x05"},                                  // no flags
		{"account", codecs.Account{}, "\x03\x05\x01\x04abcd\x040.50\x00"},          // a limit that is no amount
		{"account", codecs.Account{}, "\x03\x05\x01\x00\x040.00\x040.50\x01"},      // a decision missing
		{"account", codecs.Account{}, "\x03\x05\x01\x00\x040.00\x040.50\x01\x07x"}, // an unknown verdict
		{"account", codecs.Account{}, "\x03\x05\x01\x00\x040.00\x040.50\x00extra"}, // bytes after the decisions
		{"account", codecs.Account{}, "\x03\x05\x01\x00\x040.00\x040.50\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
		{"account", codecs.Account{}, "\x04\x05\x01\x00\x040.00\x040.5"},      // a truncated balance
		{"account", codecs.Account{}, "\x04\x05\x01\x00\x040.00\x040.50\x00"}, // bytes after the balance
		{"account", codecs.Account{}, "\x05\x05\x01\x00\x040.00\x040.50"},     // an unknown format
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.data, func(t *testing.T) {
			v, err := tt.codec.Decode([]byte(tt.data))
			if err == nil {
				t.Fatalf("Decode(%s) = %+v, want an error", tt.data, v)
			}
			if !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error %q does not name %s", err, tt.name)
			}
		})
	}
}

func TestLenient(t *testing.T) {
	c := codecs.Lenient{Codec: codecs.Instruction{}}
	v, err := c.Decode([]byte("{nope"))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, ok := v.(codecs.Poison)
	if !ok || string(p.Value) != "{nope" || p.Err == nil {
		t.Errorf("Decode(bad) = %#v, want a Poison with the bytes and the error", v)
	}
}

func TestAccountRoundTrip(t *testing.T) {
	tests := []wallet.Account{
		{},
		{Balance: wallet.Cents(-50)},
		{Balance: wallet.Cents(7), NextOffset: 1 << 40},
		{Open: true, OpenFrom: 77, OverdraftLimit: wallet.Cents(100000)},
		{Balance: wallet.MustParseMoney("-1000000000.00"), NextOffset: 12, Open: true, OpenFrom: 3, OverdraftLimit: wallet.MustParseMoney("1000.00")},
	}
	for _, want := range tests {
		b, err := codecs.Account{}.Encode(want)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", want, err)
		}
		v, err := codecs.Account{}.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", want, err)
		}
		got := v.(wallet.Account)
		if !got.Balance.Equal(want.Balance) || got.NextOffset != want.NextOffset ||
			got.Open != want.Open || got.OpenFrom != want.OpenFrom || !got.OverdraftLimit.Equal(want.OverdraftLimit) {
			t.Errorf("Decode(Encode(v)) = %+v, want %+v", got, want)
		}
		if next, err := codecs.AccountNextOffset(b); err != nil || next != want.NextOffset {
			t.Errorf("AccountNextOffset = %d, %v; want %d", next, err, want.NextOffset)
		}
		// The value's size does not grow with the account's traffic.
		if len(b) > 40 {
			t.Errorf("%d bytes for %+v, want at most 40", len(b), want)
		}
	}
	if _, err := (codecs.Account{}).Encode(wallet.Account{NextOffset: -1}); err == nil {
		t.Error("Encode accepted a negative next offset")
	}
	if _, err := (codecs.Account{}).Encode("x"); err == nil || !strings.Contains(err.Error(), "account") {
		t.Errorf("Encode(string) error = %v, want one naming account", err)
	}
}

// A value that version 2 wrote (format 3, with its decisions kept for
// re-emission) decodes, the decisions dropped.
func TestAccountOfVersion2Decodes(t *testing.T) {
	// format 3, next offset 12, open, open from 3, limit "1.00", balance
	// "-0.50", two decisions: (10, 'd') and (11, 'f').
	v2 := []byte{3, 12, 1, 3, 4, '1', '.', '0', '0', 5, '-', '0', '.', '5', '0', 2, 10, 'd', 11, 'f'}
	v, err := codecs.Account{}.Decode(v2)
	if err != nil {
		t.Fatalf("Decode(format 3): %v", err)
	}
	got := v.(wallet.Account)
	if got.NextOffset != 12 || !got.Open || got.OpenFrom != 3 || got.OverdraftLimit.String() != "1.00" || got.Balance.String() != "-0.50" {
		t.Errorf("Decode(format 3) = %+v", got)
	}
	for _, bad := range [][]byte{v2[:len(v2)-1], append(append([]byte(nil), v2...), 0), {1, 0}} {
		if _, err := (codecs.Account{}).Decode(bad); err == nil {
			t.Errorf("Decode(% x) succeeded", bad)
		}
	}
}

func TestTransferStateRoundTrip(t *testing.T) {
	tr := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Ａlice", To: "@world", Amount: wallet.MustParseMoney("1000000000.00")}
	tests := []wallet.TransferState{
		{Transfer: tr, Status: wallet.Pending, RequestOffset: 0, NextOffset: 1},
		{Transfer: tr, Status: wallet.Completed, RequestOffset: 3, NextOffset: 1 << 40},
		{Transfer: tr, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds, RequestOffset: 3, NextOffset: 9},
		{Transfer: tr, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound, RequestOffset: 3, NextOffset: 9},
	}
	for _, want := range tests {
		b, err := codecs.TransferState{}.Encode(want)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", want, err)
		}
		v, err := codecs.TransferState{}.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", want, err)
		}
		got, err := v.(codecs.StoredTransfer).For(primerID)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)).For(its request ID): %v", want, err)
		}
		if !got.Transfer.Equal(want.Transfer) || got.From != want.From || got.Status != want.Status || got.Reason != want.Reason ||
			got.RequestOffset != want.RequestOffset || got.NextOffset != want.NextOffset {
			t.Errorf("Decode(Encode(v)) = %+v, want %+v", got, want)
		}
		if next, err := codecs.TransferStateNextOffset(b); err != nil || next != want.NextOffset {
			t.Errorf("TransferStateNextOffset = %d, %v; want %d", next, err, want.NextOffset)
		}
		// The request ID is the key: the value holds 4 bytes of it.
		if max := 24 + len(tr.From) + len(tr.To); len(b) > max {
			t.Errorf("%d bytes for %+v, want at most %d", len(b), want, max)
		}
	}
	for _, bad := range []wallet.TransferState{
		{Transfer: tr, Status: "done", NextOffset: 1},
		{Transfer: tr, Status: wallet.Pending, RequestOffset: 3, NextOffset: 3},
	} {
		if _, err := (codecs.TransferState{}).Encode(bad); err == nil {
			t.Errorf("Encode accepted %+v", bad)
		}
	}
}

// A transfer state read under another key than its request ID is one no
// processor wrote.
func TestTransferStateForAnotherKey(t *testing.T) {
	tr := wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.MustParseMoney("0.50")}
	b, err := codecs.TransferState{}.Encode(wallet.TransferState{Transfer: tr, Status: wallet.Pending, NextOffset: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := codecs.TransferState{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{uuid.NewString(), strings.ToUpper(primerID), "Alice", ""} {
		if s, err := v.(codecs.StoredTransfer).For(key); err == nil {
			t.Errorf("For(%q) = %+v, want an error", key, s)
		}
		if codecs.TransferStateForAnotherKey(b, key) == nil {
			t.Errorf("TransferStateForAnotherKey(%q) = nil, want an error", key)
		}
	}
	if err := codecs.TransferStateForAnotherKey(b, primerID); err != nil {
		t.Errorf("TransferStateForAnotherKey(its own key) = %v", err)
	}
}

// Values written in format 1, with the whole request ID, two offsets and
// the amount as a decimal string, still decode.
func TestTransferStateFormat1(t *testing.T) {
	id := uuid.MustParse(primerID)
	b := []byte{1, 3, 9, 'r', 'f'}
	b = append(b, id[:]...)
	b = append(b, 5, 'A', 'l', 'i', 'c', 'e', 3, 'B', 'o', 'b', 4, '0', '.', '5', '0')
	v, err := codecs.TransferState{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := wallet.TransferState{Transfer: wallet.Transfer{RequestID: id, From: "Alice", To: "Bob", Amount: wallet.MustParseMoney("0.50")},
		Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds, RequestOffset: 3, NextOffset: 9}
	got, err := v.(codecs.StoredTransfer).For(primerID)
	if err != nil || !got.Transfer.Equal(want.Transfer) || got.Status != want.Status || got.Reason != want.Reason ||
		got.RequestOffset != want.RequestOffset || got.NextOffset != want.NextOffset {
		t.Errorf("format 1 decoded to %+v, %v; want %+v", got, err, want)
	}
	if _, err := v.(codecs.StoredTransfer).For(uuid.NewString()); err == nil {
		t.Error("a format 1 value read under another request ID")
	}
	if codecs.TransferStateForAnotherKey(b, uuid.NewString()) == nil || codecs.TransferStateForAnotherKey(b, primerID) != nil {
		t.Error("TransferStateForAnotherKey disagrees with For on a format 1 value")
	}
	if next, err := codecs.TransferStateNextOffset(b); err != nil || next != 9 {
		t.Errorf("TransferStateNextOffset = %d, %v; want 9", next, err)
	}
}
