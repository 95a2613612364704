package views_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/viewtest"
	"github.com/wallet/wallet/topology"
)

// signupWithKeys is Alice's signup at version next, holding keys.
func signupWithKeys(next int64, keys ...string) wallet.Signup {
	s := wallet.Signup{
		Claim:      wallet.Claim{RequestID: uuid.MustParse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), Username: "Alice", OverdraftLimit: wallet.Cents(100)},
		NextOffset: next,
	}
	for i, k := range keys {
		s.Keys = append(s.Keys, wallet.Key{Hash: wallet.HashKey(k), RequestID: uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint(i)))})
	}
	first := wallet.HashKey(keys[0])
	s.KeyHash = &first
	return s
}

// The view decodes a signup's bytes once (views/memo.go); a key change is
// other bytes, so a revoked key stops working at the first read after
// the view holds the change, as it did when every read decoded.
func TestSignupsRevokedKeyStopsAtOnce(t *testing.T) {
	tt := tester.New(t)
	s := viewtest.Signups(t, tt)
	read := func() wallet.Signup {
		t.Helper()
		got, ok, err := s.Signup("alice")
		if err != nil || !ok {
			t.Fatalf("Signup(alice) = %t, %v; want it", ok, err)
		}
		return got
	}

	tt.Consume(string(topology.SignupTable), "alice", signupWithKeys(1, "first"))
	for range 2 { // decoded, then remembered
		if got := read(); !got.HasKey("first") || got.HasKey("second") {
			t.Fatalf("Signup(alice) = %+v, want the first key alone", got)
		}
	}
	// The second key issued, then the first revoked: each read sees the
	// version the view holds.
	tt.Consume(string(topology.SignupTable), "alice", signupWithKeys(2, "first", "second"))
	if got := read(); !got.HasKey("first") || !got.HasKey("second") {
		t.Fatalf("after the second key: %+v, want both keys", got)
	}
	tt.Consume(string(topology.SignupTable), "alice", signupWithKeys(3, "second"))
	if got := read(); got.HasKey("first") || !got.HasKey("second") || got.NextOffset != 3 {
		t.Fatalf("after the revocation: %+v, want the second key alone at version 3", got)
	}
	if _, ok, err := s.Signup("bob"); ok || err != nil {
		t.Errorf("Signup(bob) = %t, %v; want none", ok, err)
	}
}

// A caller that changes the signup it was given changes nothing that the
// view returns to the next.
func TestSignupsReturnsCopies(t *testing.T) {
	tt := tester.New(t)
	s := viewtest.Signups(t, tt)
	want := signupWithKeys(1, "first")
	tt.Consume(string(topology.SignupTable), "alice", want)
	for range 3 {
		got, _, err := s.Signup("alice")
		if err != nil || !got.HasKey("first") || *got.KeyHash != *want.KeyHash {
			t.Fatalf("Signup(alice) = %+v, %v; want %+v", got, err, want)
		}
		got.Keys[0].Hash[0]++
		got.KeyHash[0]++
	}
}

// BenchmarkSignup reads signups from the view as the API does for every
// POST, 1,000 accounts in turn.
//
//	go test -run '^$' -bench Signup -benchmem ./views/
func BenchmarkSignup(b *testing.B) {
	tt := tester.New(b)
	s := viewtest.Signups(b, tt)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("lg-%d", i)
		id := uuid.NewSHA1(uuid.Nil, []byte(keys[i]))
		hash := wallet.HashKey(keys[i])
		tt.SetTableValue(topology.SignupTable, keys[i], wallet.Signup{
			Claim:      wallet.Claim{RequestID: id, Username: keys[i], OverdraftLimit: wallet.Cents(100000), KeyHash: &hash},
			Offset:     int64(i),
			Keys:       []wallet.Key{{Hash: hash, RequestID: id}},
			NextOffset: int64(i) + 1,
		})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Signup(keys[i%len(keys)]); !ok || err != nil {
			b.Fatalf("Signup(%s) = %t, %v", keys[i%len(keys)], ok, err)
		}
		i++
	}
}
