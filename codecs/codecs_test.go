package codecs_test

import (
	"slices"
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
	payment := wallet.Payment{RequestID: uuid.MustParse(primerID), Account: "Alice", Direction: wallet.Outgoing, Amount: wallet.Cents(50)}
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
		{"payment", codecs.Payment{}, payment,
			`{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","account":"Alice","direction":"outgoing","amount":"0.50"}`,
			func(a, b any) bool {
				x, y := a.(wallet.Payment), b.(wallet.Payment)
				return x.RequestID == y.RequestID && x.Account == y.Account && x.Direction == y.Direction && x.Amount.Equal(y.Amount)
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
		{"payment", codecs.Payment{}, `[]`},
		{"payment", codecs.Payment{}, `{"request_id":"` + primerID + `","account":"Bob","direction":"up","amount":"1.00"}`},
		{"payment", codecs.Payment{}, `{"request_id":"` + primerID + `","account":"","direction":"incoming","amount":"1.00"}`},
		{"account", codecs.Account{}, ``},
		{"account", codecs.Account{}, `{"balance":"0.50"}`},
		{"account", codecs.Account{}, "\x01\x04abcd\x00"},
		{"account", codecs.Account{}, "\x01\x040.50\x01short"},
		{"account", codecs.Account{}, "\x01\x040.50\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
		{"account", codecs.Account{}, "\x02"},
		{"account", codecs.Account{}, "\x02\x80"},
		{"account", codecs.Account{}, "\x02\x05\x040.50"},
		{"account", codecs.Account{}, "\x03\x00\x040.50\x00"},
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
	c := codecs.Lenient{Codec: codecs.Payment{}}
	v, err := c.Decode([]byte("{nope"))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, ok := v.(codecs.Poison)
	if !ok || string(p.Value) != "{nope" || p.Err == nil {
		t.Errorf("Decode(bad) = %#v, want a Poison with the bytes and the error", v)
	}
}

// Values written before the next offset was kept (format 1) still decode,
// as the oldest version of the account.
func TestAccountDecodesFormat1(t *testing.T) {
	v, err := codecs.Account{}.Decode([]byte("\x01\x05-0.50\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if a := v.(wallet.Account); a.Balance.String() != "-0.50" || a.NextOffset != 0 || len(a.Applied) != 0 {
		t.Errorf("Decode = %+v, want balance -0.50, next offset 0", a)
	}
}

func TestAccountRoundTrip(t *testing.T) {
	tests := []wallet.Account{
		{},
		{Balance: wallet.Cents(-50)},
		{Balance: wallet.Cents(7), NextOffset: 1 << 40},
		{Balance: wallet.MustParseMoney("1000000000.00"), NextOffset: 12, Applied: wallet.Applied{
			{RequestID: uuid.MustParse(primerID), Direction: wallet.Outgoing, At: 1764072000},
			{RequestID: uuid.MustParse(primerID), Direction: wallet.Incoming, At: -1},
		}},
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
		if !got.Balance.Equal(want.Balance) || !slices.Equal(got.Applied, want.Applied) || got.NextOffset != want.NextOffset {
			t.Errorf("Decode(Encode(v)) = %+v, want %+v", got, want)
		}
		if next, err := codecs.AccountNextOffset(b); err != nil || next != want.NextOffset {
			t.Errorf("AccountNextOffset = %d, %v; want %d", next, err, want.NextOffset)
		}
	}
	if _, err := (codecs.Account{}).Encode(wallet.Account{NextOffset: -1}); err == nil {
		t.Error("Encode accepted a negative next offset")
	}
	if _, err := (codecs.Account{}).Encode("x"); err == nil || !strings.Contains(err.Error(), "account") {
		t.Errorf("Encode(string) error = %v, want one naming account", err)
	}
}
