package codecs_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
)

// The codecs of the logs write and read their usual messages by hand
// (canonical.go). These tests hold them to encoding/json: the same bytes
// for every value encoded, the same value or error for every input
// decoded.

// pieces are what the generated names are made of: plain letters, what
// json.Marshal escapes (HTML characters, quotes, backslashes, control
// characters, U+2028 and U+2029, invalid UTF-8) and what it writes as it
// is (other non-ASCII, DEL).
var pieces = []string{
	"a", "Z", "0", " ", "_", "-", ".", "@", "Alice", "bob",
	"<", ">", "&", `"`, `\`, "/", "\x00", "\n", "\t", "\x1f", "\x7f",
	"é", "Ａ", "ß", "😀", "\u2028", "\u2029", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80",
}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randomFrom returns one of choices or, one time in four, random text.
func randomFrom(r *rand.Rand, choices ...string) string {
	if r.IntN(4) == 0 {
		return randomText(r)
	}
	return choices[r.IntN(len(choices))]
}

func randomMoney(r *rand.Rand) wallet.Money {
	switch r.IntN(4) {
	case 0:
		return wallet.Cents([]int64{0, 1, -1, 9, 10, 99, 100, -100, math.MaxInt64, math.MinInt64}[r.IntN(10)])
	case 1:
		return wallet.Cents(int64(r.Uint64()))
	}
	return wallet.Cents(r.Int64N(1_000_000) - 1000)
}

func randomUUID(r *rand.Rand) uuid.UUID {
	var id uuid.UUID
	if r.IntN(8) != 0 {
		for i := range id {
			id[i] = byte(r.UintN(256))
		}
	}
	return id
}

// checkEncode requires that Encode writes want's bytes, and that what it
// writes decodes as encoding/json decodes it.
func checkEncode(t *testing.T, name string, got, want []byte, err, wantErr error) {
	t.Helper()
	if err != nil || wantErr != nil {
		t.Fatalf("%s: Encode error %v, json.Marshal error %v", name, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: Encode = %q, json.Marshal = %q", name, got, want)
	}
}

func TestEncodeIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var canonical int
	for range 20000 {
		id := randomUUID(r)
		debit := wallet.Instruction{RequestID: id, Kind: wallet.Kind(randomFrom(r, "debit", "credit", "refund")),
			Account: randomText(r), From: randomText(r), To: randomText(r), Amount: randomMoney(r)}
		open := wallet.Instruction{RequestID: id, Kind: wallet.Open, Account: randomText(r),
			Username: randomText(r), OverdraftLimit: randomMoney(r)}
		for _, in := range []wallet.Instruction{debit, open} {
			got, err := codecs.Instruction{}.Encode(in)
			want, wantErr := codecs.MarshalInstruction(in)
			checkEncode(t, "instruction", got, want, err, wantErr)
			// What json.Marshal writes without escapes or omitted
			// fields, the canonical reader must read back.
			complete := in.From != "" && in.To != ""
			if in.Kind == wallet.Open {
				complete = in.Username != ""
			}
			fromParse, ok := codecs.ParseInstruction(string(got))
			if ok != (complete && !strings.Contains(string(got), `\`)) || ok && !reflect.DeepEqual(fromParse, in) {
				t.Fatalf("ParseInstruction(%s) = %+v, %t", got, fromParse, ok)
			}
			if ok {
				canonical++
			}
		}

		tr := wallet.Transfer{RequestID: id, From: randomText(r), Amount: randomMoney(r), To: randomText(r)}
		want, wantErr := json.Marshal(tr)
		for _, c := range []interface {
			Encode(any) ([]byte, error)
		}{codecs.Transfer{}, codecs.TransferLog{}} {
			got, err := c.Encode(tr)
			checkEncode(t, "transfer", got, want, err, wantErr)
		}
		if fromParse, ok := codecs.ParseTransfer(string(want)); ok != !strings.Contains(string(want), `\`) || ok && fromParse != tr {
			t.Fatalf("ParseTransfer(%s) = %+v, %t", want, fromParse, ok)
		}

		o := wallet.Outcome{RequestID: id, Status: wallet.Status(randomFrom(r, "completed", "rejected")),
			Reason: randomFrom(r, "", wallet.ReasonInsufficientFunds, wallet.ReasonAccountNotFound)}
		got, err := codecs.TransferLog{}.Encode(o)
		want, wantErr = codecs.MarshalOutcome(o)
		checkEncode(t, "outcome", got, want, err, wantErr)
		if fromParse, ok := codecs.ParseOutcome(string(want)); ok != !strings.Contains(string(want), `\`) || ok && fromParse != o {
			t.Fatalf("ParseOutcome(%s) = %+v, %t", want, fromParse, ok)
		}
	}
	if canonical < 1000 {
		t.Errorf("only %d instructions were canonical; the generator tests little of the canonical path", canonical)
	}
}

// FuzzEncode holds Encode to json.Marshal for any names, kinds, statuses,
// reasons and amounts, and Decode of what it writes to encoding/json.
//
//	go test -run '^$' -fuzz FuzzEncode -fuzztime 60s ./codecs/
func FuzzEncode(f *testing.F) {
	f.Add([]byte(primerID), "debit", "alice", "Alice", "Bob", int64(50))
	f.Add([]byte(primerID), "open", "bob", "Bob", "", int64(100000))
	f.Add([]byte(primerID), "rejected", "bob", "Ａlice<>&", "insufficient_funds", int64(-1))
	f.Add([]byte("0123456789abcdef"), "completed", "", "\u2028\xff\x00", "", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, idBytes []byte, kind, account, from, to string, cents int64) {
		var id uuid.UUID
		copy(id[:], idBytes)
		amount := wallet.Cents(cents)
		instructions := []wallet.Instruction{
			{RequestID: id, Kind: wallet.Kind(kind), Account: account, From: from, To: to, Amount: amount},
			{RequestID: id, Kind: wallet.Open, Account: account, Username: from, OverdraftLimit: amount},
		}
		for _, in := range instructions {
			got, err := codecs.Instruction{}.Encode(in)
			want, wantErr := codecs.MarshalInstruction(in)
			checkEncode(t, "instruction", got, want, err, wantErr)
			checkDecode(t, got, codecs.Instruction{}.Decode, codecs.DecodeInstructionJSON)
		}
		tr := wallet.Transfer{RequestID: id, From: from, Amount: amount, To: to}
		got, err := codecs.Transfer{}.Encode(tr)
		want, wantErr := json.Marshal(tr)
		checkEncode(t, "transfer", got, want, err, wantErr)
		checkDecode(t, got, codecs.Transfer{}.Decode, codecs.DecodeTransferJSON)
		checkDecode(t, got, codecs.TransferLog{}.Decode, codecs.DecodeTransferLogJSON)
		o := wallet.Outcome{RequestID: id, Status: wallet.Status(kind), Reason: to}
		got, err = codecs.TransferLog{}.Encode(o)
		want, wantErr = codecs.MarshalOutcome(o)
		checkEncode(t, "outcome", got, want, err, wantErr)
		checkDecode(t, got, codecs.TransferLog{}.Decode, codecs.DecodeTransferLogJSON)
	})
}

// checkDecode requires that decode returns for data what the
// encoding/json path returns: an equal value, or an error with the same
// text.
func checkDecode(t *testing.T, data []byte, decode, decodeJSON func([]byte) (any, error)) {
	t.Helper()
	got, err := decode(data)
	want, wantErr := decodeJSON(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("Decode(%q) error = %v, encoding/json's = %v", data, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q) = %#v, encoding/json's = %#v", data, got, want)
	}
}

// decodeSeeds are inputs near the canonical forms: each canonical message,
// then variants that only encoding/json reads, or that nothing reads.
func decodeSeeds(canonical []string) []string {
	seeds := []string{``, `null`, `[]`, `{}`, `{`, `"x"`, `{"request_id":null}`}
	for _, c := range canonical {
		seeds = append(seeds, c,
			" "+c, c+" ", c+"\n", c+"x", c+"{}", c[:len(c)-1], c[:len(c)/2],
			strings.Replace(c, `":"`, `": "`, 1),
			strings.Replace(c, `","`, `", "`, -1),
			strings.Replace(c, `{"`, `{ "`, 1),
			strings.Replace(c, `"request_id"`, `"Request_ID"`, 1),
			strings.Replace(c, `"request_id"`, `"REQUEST_ID"`, 1),
			strings.Replace(c, `"kind"`, `"Kind"`, 1),
			strings.Replace(c, `"from"`, `"FROM"`, 1),
			strings.Replace(c, `"amount"`, `"Amount"`, 1),
			strings.Replace(c, `"status"`, `"ſtatus"`, 1), // ſ folds to s in encoding/json's key matching
			strings.Replace(c, `"to"`, `"tO"`, 1),
			strings.Replace(c, `{`, `{"extra":1,`, 1),
			strings.Replace(c, `}`, `,"extra":"x"}`, 1),
			strings.Replace(c, `}`, `,"kind":"outcome"}`, 1),
			strings.Replace(c, `}`, `,"from":"Carol"}`, 1),
			strings.Replace(c, `}`, `,"amount":null}`, 1),
			strings.Replace(c, `}`, `,"request_id":"`+uuid.Nil.String()+`"}`, 1),
			strings.Replace(c, `"Alice"`, `"Al\u0069ce"`, 1),
			strings.Replace(c, `"Alice"`, `"\u003cAlice"`, 1),
			strings.Replace(c, `"Alice"`, `"Ａlice"`, 1),
			strings.Replace(c, `"Alice"`, "\"Al\xffce\"", 1),
			strings.Replace(c, `"Alice"`, "\"Al\x01ce\"", 1),
			strings.Replace(c, `"Alice"`, "\"Al\u2028ce\"", 1),
			strings.Replace(c, `"Alice"`, `""`, 1),
			strings.Replace(c, `"Alice"`, `null`, 1),
			strings.Replace(c, `"Bob"`, `"bob"`, 1),
			strings.Replace(c, `"Bob"`, `"Alice"`, 1),
			strings.Replace(c, `"0.50"`, `0.50`, 1),
			strings.Replace(c, `"0.50"`, `5e-1`, 1),
			strings.Replace(c, `"0.50"`, `"0.5"`, 1),
			strings.Replace(c, `"0.50"`, `"0.501"`, 1),
			strings.Replace(c, `"0.50"`, `"0.001"`, 1),
			strings.Replace(c, `"0.50"`, `"-0.50"`, 1),
			strings.Replace(c, `"0.50"`, `"1e400"`, 1),
			strings.Replace(c, `"0.50"`, `"abc"`, 1),
			strings.Replace(c, `"0.50"`, `"0\u002e50"`, 1),
			strings.Replace(c, `"0.50"`, `" 0.50"`, 1),
			strings.Replace(c, `"0.50"`, `null`, 1),
			strings.Replace(c, `"0.50"`, `"10.00"`, 1),
			strings.Replace(c, primerID, strings.ToUpper(primerID), 1),
			strings.Replace(c, primerID, "urn:uuid:"+primerID, 1),
			strings.Replace(c, primerID, "{"+primerID+"}", 1),
			strings.Replace(c, primerID, strings.ReplaceAll(primerID, "-", ""), 1),
			strings.Replace(c, primerID, uuid.Nil.String(), 1),
			strings.Replace(c, primerID, primerID[:35], 1),
			strings.Replace(c, primerID, primerID[:35]+"g", 1),
			strings.Replace(c, `"`+primerID+`"`, `null`, 1),
			strings.Replace(c, `"debit"`, `"open"`, 1),
			strings.Replace(c, `"open"`, `"debit"`, 1),
			strings.Replace(c, `"debit"`, `"Debit"`, 1),
			strings.Replace(c, `"outcome"`, `"Outcome"`, 1),
			strings.Replace(c, `"outcome"`, `null`, 1),
			strings.Replace(c, `"completed"`, `"pending"`, 1),
			strings.Replace(c, `"rejected"`, `"completed"`, 1),
			strings.Replace(c, `"insufficient_funds"`, `""`, 1),
		)
	}
	return seeds
}

func encoded(t testing.TB, c interface{ Encode(any) ([]byte, error) }, v any) string {
	b, err := c.Encode(v)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", v, err)
	}
	return string(b)
}

// FuzzTransferLogDecode holds TransferLog.Decode and Transfer.Decode to
// their encoding/json paths for any input.
//
//	go test -run '^$' -fuzz FuzzTransferLogDecode -fuzztime 60s ./codecs/
func FuzzTransferLogDecode(f *testing.F) {
	id := uuid.MustParse(primerID)
	transfer := wallet.Transfer{RequestID: id, From: "Alice", Amount: wallet.Cents(50), To: "Bob"}
	canonical := []string{
		encoded(f, codecs.TransferLog{}, transfer),
		encoded(f, codecs.TransferLog{}, wallet.Outcome{RequestID: id, Status: wallet.Completed}),
		encoded(f, codecs.TransferLog{}, wallet.Outcome{RequestID: id, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}),
		encoded(f, codecs.TransferLog{}, wallet.Outcome{RequestID: id, Status: wallet.Rejected, Reason: wallet.ReasonAccountNotFound}),
		// A debit, on the wrong topic.
		encoded(f, codecs.Instruction{}, transfer.Debit()),
	}
	for _, s := range decodeSeeds(canonical) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data, codecs.TransferLog{}.Decode, codecs.DecodeTransferLogJSON)
		checkDecode(t, data, codecs.Transfer{}.Decode, codecs.DecodeTransferJSON)
	})
}

// FuzzInstructionDecode holds Instruction.Decode to its encoding/json path
// for any input.
//
//	go test -run '^$' -fuzz FuzzInstructionDecode -fuzztime 60s ./codecs/
func FuzzInstructionDecode(f *testing.F) {
	id := uuid.MustParse(primerID)
	debit := wallet.Transfer{RequestID: id, From: "Alice", Amount: wallet.Cents(50), To: "Bob"}.Debit()
	canonical := []string{
		encoded(f, codecs.Instruction{}, debit),
		encoded(f, codecs.Instruction{}, debit.Next()),
		encoded(f, codecs.Instruction{}, debit.Next().Next()),
		encoded(f, codecs.Instruction{}, wallet.Instruction{RequestID: id, Kind: wallet.Open, Account: "alice", Username: "Alice", OverdraftLimit: wallet.Cents(50)}),
		encoded(f, codecs.Instruction{}, wallet.Instruction{RequestID: id, Kind: wallet.Open, Account: "alice", Username: "Alice"}),
		// A transfer, on the wrong topic.
		encoded(f, codecs.Transfer{}, debit.Transfer()),
	}
	for _, s := range decodeSeeds(canonical) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data, codecs.Instruction{}.Decode, codecs.DecodeInstructionJSON)
	})
}
