package processors_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

func claim(id, username string) wallet.Claim {
	return wallet.Claim{RequestID: uuid.MustParse(id), Username: username, OverdraftLimit: wallet.Cents(1000)}
}

func TestDecideClaim(t *testing.T) {
	bob := claim(primerID, "Bob")
	won := wallet.Signup{Claim: bob, Offset: 3}
	tests := []struct {
		name     string
		stored   *wallet.Signup
		c        wallet.Claim
		offset   int64
		wantWon  bool
		wantSet  bool
		wantOpen bool
	}{
		{"first claim wins and opens", nil, bob, 3, true, true, true},
		{"the winning message replayed wins, emits nothing", &won, bob, 3, true, false, false},
		{"a re-post with the same request ID wins, emits nothing", &won, bob, 9, true, false, false},
		{"another request ID loses", &won, claim(otherID, "BOB"), 9, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := processors.DecideClaim(tt.stored, tt.c, "bob", tt.offset)
			if d.Won != tt.wantWon || (d.Store != nil) != tt.wantSet || (d.Open != nil) != tt.wantOpen {
				t.Fatalf("DecideClaim = won %v, store %v, open %v; want %v, %v, %v", d.Won, d.Store, d.Open, tt.wantWon, tt.wantSet, tt.wantOpen)
			}
			if d.Store != nil && (!d.Store.Claim.Equal(bob) || d.Store.Offset != 3) {
				t.Errorf("stores %+v, want Bob's claim at offset 3", *d.Store)
			}
			want := wallet.Instruction{RequestID: bob.RequestID, Kind: wallet.Open, Account: "bob", Username: "Bob", OverdraftLimit: wallet.Cents(1000)}
			if d.Open != nil && !d.Open.Equal(want) {
				t.Errorf("opens %+v, want %+v", *d.Open, want)
			}
		})
	}
}

// runSignup runs the signup group under the tester until the test ends,
// printing its lines to out.
func runSignup(t *testing.T, tt *tester.Tester, out io.Writer) {
	t.Helper()
	proc, err := processors.NewSignup(nil, processors.Signup{Out: out, Bounds: testerBounds(t, 1)}, goka.WithTester(tt))
	runProcessor(t, proc, err)
}

func TestSignupFirstClaimWins(t *testing.T) {
	tt := tester.New(t)
	var out bytes.Buffer
	runSignup(t, tt, &out)
	opens := tt.NewQueueTracker(string(topology.Instructions))

	won, taken := processors.SignupCount("won", "group"), processors.SignupCount("taken", "group")
	first := claim(primerID, "Bob")
	tt.Consume(string(topology.SignupRequests), "bob", first)
	tt.Consume(string(topology.SignupRequests), "bob", claim(otherID, "bob"))
	tt.Consume(string(topology.SignupRequests), "bob", claim("00000000-0000-4000-8000-000000000003", "ＢＯＢ"))
	tt.Consume(string(topology.SignupRequests), "bob", first) // the owner posts again

	v := tt.TableValue(topology.SignupTable, "bob")
	if s, ok := v.(wallet.Signup); !ok || !s.Claim.Equal(first) || s.Offset != 0 {
		t.Errorf("signup-table holds %+v, want the first claim at offset 0", v)
	}
	key, msg, ok := opens.Next()
	if !ok || key != "bob" || msg.(wallet.Instruction).Kind != wallet.Open || msg.(wallet.Instruction).Username != "Bob" {
		t.Fatalf("emitted %s %+v, want Bob's open", key, msg)
	}
	if key, msg, ok := opens.Next(); ok {
		t.Errorf("emitted %s %+v after the first open, want nothing: later claims lose and a re-post is answered from the state", key, msg)
	}
	want := []string{
		"0:0 " + primerID + " bob ✅",
		"0:1 " + otherID + " bob ❌",
		"0:2 00000000-0000-4000-8000-000000000003 bob ❌",
		"0:3 " + primerID + " bob ✅",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The owner's re-post is no new decision.
	if got := processors.SignupCount("won", "group") - won; got != 1 {
		t.Errorf("%d signups counted won, want 1", got)
	}
	if got := processors.SignupCount("taken", "group") - taken; got != 2 {
		t.Errorf("%d signups counted taken, want 2", got)
	}
}

// The winning claim replayed at its own offset (its signup and open were
// committed with it) writes nothing and emits nothing: a second open
// would be a second instruction in the account's log.
func TestSignupReplayEmitsNothing(t *testing.T) {
	tt := tester.New(t)
	runSignup(t, tt, nil)
	bob := claim(primerID, "Bob")
	tt.SetTableValue(topology.SignupTable, "bob", wallet.Signup{Claim: bob, Offset: 0})
	changelog := tt.NewQueueTracker(string(topology.SignupTable))
	opens := tt.NewQueueTracker(string(topology.Instructions))

	tt.Consume(string(topology.SignupRequests), "bob", bob) // offset 0 again

	if _, v, ok := changelog.Next(); ok {
		t.Errorf("changelog got %+v, want nothing", v)
	}
	if _, v, ok := opens.Next(); ok {
		t.Errorf("emitted %+v, want nothing", v)
	}
}

func TestSignupDeadLettersInvalidClaims(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"reserved name", "@world", claim(primerID, "@world")},
		{"another reserved name", "@bank", claim(primerID, "@bank")},
		{"spaces", "bob smith", claim(primerID, "bob smith")},
		{"key is not the account key", "Bob", claim(primerID, "Bob")},
		{"limit above the maximum", "bob", wallet.Claim{RequestID: uuid.MustParse(primerID), Username: "Bob", OverdraftLimit: wallet.Cents(100001)}},
		{"not JSON", "bob", []byte("{")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			runSignup(t, tt, nil)
			dead := tt.NewQueueTracker(string(topology.DeadLetters))
			opens := tt.NewQueueTracker(string(topology.Instructions))

			tt.Consume(string(topology.SignupRequests), tc.key, tc.value)

			if _, key, _, ok := dead.NextWithHeaders(); !ok || key != tc.key {
				t.Errorf("dead letter %q, %v; want one keyed %q", key, ok, tc.key)
			}
			if _, v, ok := opens.Next(); ok {
				t.Errorf("opened %+v", v)
			}
			if keys := tt.GetTableKeys(topology.SignupTable); len(keys) != 0 {
				t.Errorf("signup-table has %q, want nothing", keys)
			}
		})
	}
}

// The accountant opens an account once, however many copies of its open
// arrive, and keeps the limit of the first.
func TestAccountantOpensOnce(t *testing.T) {
	tt := tester.New(t)
	runAccountant(t, tt, processors.Accountant{Bounds: testerBounds(t, 1)})
	open := wallet.Instruction{RequestID: uuid.MustParse(primerID), Kind: wallet.Open, Account: "bob", Username: "Bob", OverdraftLimit: wallet.Cents(1000)}
	if v := tt.TableValue(topology.AccountTable, "bob"); v != nil {
		t.Fatalf("bob exists before his open: %+v", v)
	}
	for range 3 {
		tt.Consume(string(topology.Instructions), "bob", open)
	}
	other := open
	other.OverdraftLimit = wallet.Cents(5)
	tt.Consume(string(topology.Instructions), "bob", other)
	a := tt.TableValue(topology.AccountTable, "bob").(wallet.Account)
	if !a.Open || a.OverdraftLimit.String() != "10.00" || !a.Balance.IsZero() || a.NextOffset != 4 {
		t.Errorf("bob = %+v, want open with limit 10.00, balance 0.00, next offset 4", a)
	}
}

func TestDecideKeyChange(t *testing.T) {
	hash := func(b byte) *wallet.KeyHash { h := wallet.KeyHash{b}; return &h }
	req := func(n byte) uuid.UUID { return uuid.UUID{n} }
	bob := wallet.Signup{Claim: claim(primerID, "Bob"), Offset: 3, NextOffset: 4,
		Keys: []wallet.Key{{Hash: *hash(1), RequestID: uuid.MustParse(primerID)}}}
	full := bob
	full.Keys = nil
	for i := range wallet.MaxKeys {
		full.Keys = append(full.Keys, wallet.Key{Hash: *hash(byte(10 + i)), RequestID: req(byte(10 + i))})
	}
	tests := []struct {
		name     string
		stored   *wallet.Signup
		change   wallet.KeyChange
		wantKeys []byte // first byte of each key's hash; nil with wantNil
		wantNil  bool   // nothing stored
		wantErr  string
	}{
		{"issue", &bob, wallet.KeyChange{RequestID: req(2), Account: "bob", Issue: hash(2)}, []byte{1, 2}, false, ""},
		{"rotate: revoke and issue", &bob, wallet.KeyChange{RequestID: req(2), Account: "bob", Issue: hash(2), Revoke: hash(1).ID()}, []byte{2}, false, ""},
		{"revoke", &bob, wallet.KeyChange{RequestID: req(2), Account: "bob", Revoke: hash(1).ID()}, []byte{}, false, ""},
		{"revoke a key not held", &bob, wallet.KeyChange{RequestID: req(2), Account: "bob", Revoke: hash(9).ID()}, []byte{1}, false, ""},
		{"a re-post of an issue", &bob, wallet.KeyChange{RequestID: uuid.MustParse(primerID), Account: "bob", Issue: hash(7)}, nil, true, ""},
		{"no account", nil, wallet.KeyChange{RequestID: req(2), Account: "bob", Issue: hash(2)}, nil, true, wallet.EAccountNotFound},
		{"one too many", &full, wallet.KeyChange{RequestID: req(2), Account: "bob", Issue: hash(2)}, nil, true, wallet.ETooManyKeys},
		{"the most, rotated", &full, wallet.KeyChange{RequestID: req(2), Account: "bob", Issue: hash(2), Revoke: hash(10).ID()}, []byte{11, 12, 13, 14, 2}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := processors.DecideKeyChange(tt.stored, tt.change, 9)
			if wallet.ErrorCode(err) != tt.wantErr && !(err == nil && tt.wantErr == "") {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.wantNil {
				if s != nil {
					t.Fatalf("stores %+v, want nothing", *s)
				}
				return
			}
			if s == nil {
				t.Fatal("stores nothing")
			}
			var got []byte
			for _, k := range s.Keys {
				got = append(got, k.Hash[0])
			}
			if !bytes.Equal(got, tt.wantKeys) || s.NextOffset != 10 || s.RequestID != bob.RequestID {
				t.Errorf("stores keys %v, version %d, owner %s; want keys %v, version 10, the owner kept", got, s.NextOffset, s.RequestID, tt.wantKeys)
			}
			if len(s.Keys) > 0 && &tt.stored.Keys[0] == &s.Keys[0] {
				t.Error("the stored keys were changed in place")
			}
		})
	}
}

// A key change is decided in the account's partition in order with its
// claims: issued, revoked, replayed (nothing changes), refused for an
// account no claim has won (dead-lettered).
func TestSignupKeyChanges(t *testing.T) {
	tt := tester.New(t)
	runSignup(t, tt, nil)
	deadLetters := tt.NewQueueTracker(string(topology.DeadLetters))
	first := wallet.HashKey("first")
	bob := claim(primerID, "Bob")
	bob.KeyHash = &first
	tt.Consume(string(topology.SignupRequests), "bob", bob)
	second := wallet.HashKey("second")
	rotate := wallet.KeyChange{RequestID: uuid.MustParse(otherID), Account: "bob", Issue: &second, Revoke: first.ID()}
	tt.Consume(string(topology.SignupRequests), "bob", rotate)

	s := tt.TableValue(topology.SignupTable, "bob").(wallet.Signup)
	if !s.HasKey("second") || s.HasKey("first") || len(s.Keys) != 1 || s.NextOffset != 2 {
		t.Errorf("after the rotation: keys %+v, version %d; want only the second key, version 2", s.Keys, s.NextOffset)
	}
	tt.Consume(string(topology.SignupRequests), "nobody", wallet.KeyChange{RequestID: uuid.New(), Account: "nobody", Issue: &first})
	if _, _, ok := deadLetters.Next(); !ok {
		t.Error("a key change of an account no claim has won was not dead-lettered")
	}
	if v := tt.TableValue(topology.SignupTable, "nobody"); v != nil {
		t.Errorf("signup-table holds %+v for nobody", v)
	}
}
