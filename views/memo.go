package views

import (
	"fmt"
	"slices"
	"sync"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
)

// memoBytes bounds what a signupMemo keeps: about 15,000 signups of one
// key each (a value of about 300 bytes and its decoded form), more than
// the benchmarks' 10,000 accounts.
const memoBytes = 8 << 20

// memoOverhead is what a signupMemo counts for each signup beyond its
// value's bytes: the decoded signup, its key and key hash, and the map
// entry, roughly.
const memoOverhead = 256

// signupMemo is the signup table's codec with a memo of the signups it
// decoded, keyed by the value's bytes. The API reads three signups for
// every POST (the caller's to check an API key, the sender's and the
// recipient's to check that they exist), and decoding one with
// encoding/json took about 9 µs, most of the read: some 40% of the CPU of
// the POST's handler. From the memo it takes well under 1 µs.
//
// The view still reads every value from its storage, and the memo only
// saves decoding bytes it has decoded before: Decode is a function of the
// bytes alone, so the memo returns what the codec would. A key change or
// a revocation writes other bytes, which are decoded at their first read,
// so a revoked key stops working as soon as the view holds the change.
// Errors are not kept; every read of bad bytes decodes them again.
type signupMemo struct {
	codec goka.Codec
	max   int // bytes

	mu      sync.Mutex
	size    int // bytes counted for the signups held
	signups map[string]wallet.Signup
}

func newSignupMemo(codec goka.Codec, max int) *signupMemo {
	return &signupMemo{codec: codec, max: max, signups: map[string]wallet.Signup{}}
}

func (m *signupMemo) Encode(value any) ([]byte, error) { return m.codec.Encode(value) }

func (m *signupMemo) Decode(data []byte) (any, error) {
	m.mu.Lock()
	s, ok := m.signups[string(data)]
	m.mu.Unlock()
	if ok {
		return clone(s), nil
	}
	v, err := m.codec.Decode(data)
	if err != nil {
		return nil, err
	}
	s, ok = v.(wallet.Signup)
	if !ok {
		return nil, fmt.Errorf("decode signup: the codec returned %T", v)
	}
	m.add(string(data), clone(s))
	return s, nil
}

// add keeps s as the signup of the bytes data, forgetting others at
// random while the memo holds more than its bound. A signup changed by a
// key change leaves its old bytes here until they are forgotten, which
// costs memory within the bound, never a wrong answer.
func (m *signupMemo) add(data string, s wallet.Signup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.signups[data]; ok {
		return
	}
	m.signups[data] = s
	m.size += len(data) + memoOverhead
	for old := range m.signups {
		if m.size <= m.max {
			break
		}
		delete(m.signups, old)
		m.size -= len(old) + memoOverhead
	}
}

// clone returns s with its own copies of what it points to, so that a
// caller that changed the signup it was given could not change what the
// memo returns to the next one.
func clone(s wallet.Signup) wallet.Signup {
	if s.KeyHash != nil {
		h := *s.KeyHash
		s.KeyHash = &h
	}
	s.Keys = slices.Clone(s.Keys)
	return s
}
