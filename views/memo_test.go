package views

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

func encodeSignup(t testing.TB, s wallet.Signup) []byte {
	t.Helper()
	b, err := topology.SignupCodec.Encode(s)
	if err != nil {
		t.Fatalf("encode %+v: %v", s, err)
	}
	return b
}

// checkMemo requires that m decodes data as the signup codec does, the
// first time and again from the memo: an equal value, or an error with
// the same text.
func checkMemo(t *testing.T, m *signupMemo, data []byte) {
	t.Helper()
	want, wantErr := topology.SignupCodec.Decode(data)
	for _, when := range []string{"first", "second"} {
		got, err := m.Decode(data)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%s Decode(%q) error = %v, the codec's = %v", when, data, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s Decode(%q) = %#v, the codec's = %#v", when, data, got, want)
		}
	}
}

// FuzzSignupMemo holds the memo to the signup codec for any input, read
// once and again.
//
//	go test -run '^$' -fuzz FuzzSignupMemo -fuzztime 60s ./views/
func FuzzSignupMemo(f *testing.F) {
	id := uuid.MustParse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	h := wallet.HashKey("first")
	one := wallet.Signup{Claim: wallet.Claim{RequestID: id, Username: "Alice", OverdraftLimit: wallet.Cents(50), KeyHash: &h},
		Offset: 7, Keys: []wallet.Key{{Hash: h, RequestID: id}}, NextOffset: 8}
	changed := one
	changed.Keys = append([]wallet.Key{{Hash: wallet.HashKey("second"), RequestID: uuid.New()}}, one.Keys...)
	changed.NextOffset = 12
	for _, s := range []wallet.Signup{one, changed, {Claim: wallet.Claim{RequestID: id, Username: "Bob"}, NextOffset: 1}} {
		c := string(encodeSignup(f, s))
		for _, seed := range []string{c, " " + c, c[:len(c)-1], strings.Replace(c, `"offset":7`, `"offset":-1`, 1),
			strings.Replace(c, `"keys":[`, `"keys":null,"x":[`, 1), strings.Replace(c, `"Alice"`, `"Al\u0069ce"`, 1)} {
			f.Add([]byte(seed))
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	m := newSignupMemo(topology.SignupCodec, memoBytes)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMemo(t, m, data)
	})
}

// The memo holds no more than its bound, and forgets no signup it can
// hold: 100 signups within the bound are all kept, more are forgotten.
func TestSignupMemoBounded(t *testing.T) {
	values := make([][]byte, 300)
	for i := range values {
		name := fmt.Sprintf("user-%03d", i)
		values[i] = encodeSignup(t, wallet.Signup{Claim: wallet.Claim{RequestID: uuid.NewSHA1(uuid.Nil, []byte(name)), Username: name}, NextOffset: 1})
	}
	entry := len(values[0]) + memoOverhead
	m := newSignupMemo(topology.SignupCodec, 100*entry)
	for _, v := range values[:100] {
		checkMemo(t, m, v)
	}
	if len(m.signups) != 100 || m.size != 100*entry {
		t.Fatalf("holds %d signups of %d bytes counted, want 100 of %d", len(m.signups), m.size, 100*entry)
	}
	for _, v := range values {
		checkMemo(t, m, v)
	}
	if len(m.signups) > 100 || m.size > 100*entry {
		t.Errorf("holds %d signups of %d bytes counted, want at most 100 of %d", len(m.signups), m.size, 100*entry)
	}
	// Bad bytes are not kept, and decode as the codec decodes them.
	before := len(m.signups)
	checkMemo(t, m, []byte(`{"request_id":"`+uuid.Nil.String()+`"}`))
	if len(m.signups) > before {
		t.Errorf("kept a value that does not decode")
	}
}

// BenchmarkSignupDecode decodes a signup as the view's codec: first with
// the signup codec, then with the memo, whose bytes it decoded before.
//
//	go test -run '^$' -bench SignupDecode -benchmem ./views/
func BenchmarkSignupDecode(b *testing.B) {
	id := uuid.MustParse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	h := wallet.HashKey("first")
	data := encodeSignup(b, wallet.Signup{Claim: wallet.Claim{RequestID: id, Username: "lg-3a4740-123", OverdraftLimit: wallet.Cents(100000), KeyHash: &h},
		Offset: 123, Keys: []wallet.Key{{Hash: h, RequestID: id}}, NextOffset: 124})
	for _, c := range []struct {
		name  string
		codec interface{ Decode([]byte) (any, error) }
	}{{"codec", topology.SignupCodec}, {"memo", newSignupMemo(topology.SignupCodec, memoBytes)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
