package codecs

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// Claim encodes what wallet.signup_request carries under an account key:
// a wallet.Claim as the design's JSON,
// {"request_id":"…","username":"Bob","overdraft_limit":"0.00","key_hash":"…"},
// or a wallet.KeyChange,
// {"kind":"key_change","request_id":"…","account":"bob","issue":"…","revoke":"…"}.
// Decode rejects what no API could have written (no request ID, a name
// that cannot be signed up, a negative limit, a key change that changes
// nothing); the limit's maximum is a setting of the signup group, which
// checks it.
type Claim struct{}

// claim is the JSON form of a wallet.Claim.
type claim struct {
	RequestID      uuid.UUID    `json:"request_id"`
	Username       string       `json:"username"`
	OverdraftLimit wallet.Money `json:"overdraft_limit"`
	KeyHash        *keyHash     `json:"key_hash,omitempty"`
}

// keyChange is the JSON form of a wallet.KeyChange.
type keyChange struct {
	Kind      string    `json:"kind"` // kindKeyChange
	RequestID uuid.UUID `json:"request_id"`
	Account   string    `json:"account"`
	Issue     *keyHash  `json:"issue,omitempty"`
	Revoke    string    `json:"revoke,omitempty"`
}

const kindKeyChange = "key_change"

// keyHash is a wallet.KeyHash in hex.
type keyHash wallet.KeyHash

func (h keyHash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

func (h *keyHash) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(h) {
		return fmt.Errorf("a key hash is %d hex digits", 2*len(h))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

func fromHash(h *wallet.KeyHash) *keyHash { return (*keyHash)(h) }
func toHash(h *keyHash) *wallet.KeyHash   { return (*wallet.KeyHash)(h) }

func (Claim) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case wallet.Claim:
		return json.Marshal(claim{v.RequestID, v.Username, v.OverdraftLimit, fromHash(v.KeyHash)})
	case wallet.KeyChange:
		return json.Marshal(keyChange{kindKeyChange, v.RequestID, v.Account, fromHash(v.Issue), v.Revoke})
	}
	return nil, fmt.Errorf("encode claim: got %T", value)
}

func (Claim) Decode(data []byte) (any, error) {
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := decode("claim", data, &kind); err != nil {
		return nil, err
	}
	switch kind.Kind {
	case "":
		var c claim
		if err := decode("claim", data, &c); err != nil {
			return nil, err
		}
		out := wallet.Claim{RequestID: c.RequestID, Username: c.Username, OverdraftLimit: c.OverdraftLimit, KeyHash: toHash(c.KeyHash)}
		if _, err := out.Key(); err != nil {
			return nil, fmt.Errorf("decode claim: %w", err)
		}
		return out, nil
	case kindKeyChange:
		var k keyChange
		if err := decode("claim (key change)", data, &k); err != nil {
			return nil, err
		}
		out := wallet.KeyChange{RequestID: k.RequestID, Account: k.Account, Issue: toHash(k.Issue), Revoke: k.Revoke}
		if _, err := out.Validate(); err != nil {
			return nil, fmt.Errorf("decode claim (key change): %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("decode claim: unknown kind %q", kind.Kind)
}

// Signup encodes the signup group's table value, a wallet.Signup: the
// winning claim and the offset of its message, the account's API keys
// (hashes only) and the signup's version, as JSON. The version is written
// only once a key change has moved it past the offset after the claim,
// which it is when absent (and in values written before keys existed).
type Signup struct{}

// signup is the JSON form of a wallet.Signup.
type signup struct {
	claim
	Offset     int64  `json:"offset"`
	Keys       []key  `json:"keys,omitempty"`
	NextOffset *int64 `json:"next_offset,omitempty"`
}

type key struct {
	Hash      keyHash   `json:"hash"`
	RequestID uuid.UUID `json:"request_id"`
}

func (Signup) Encode(value any) ([]byte, error) {
	s, ok := value.(wallet.Signup)
	if !ok {
		return nil, fmt.Errorf("encode signup: got %T", value)
	}
	v := signup{claim: claim{s.RequestID, s.Username, s.OverdraftLimit, fromHash(s.KeyHash)}, Offset: s.Offset}
	if s.NextOffset > s.Offset+1 {
		v.NextOffset = &s.NextOffset
	}
	for _, k := range s.Keys {
		v.Keys = append(v.Keys, key{keyHash(k.Hash), k.RequestID})
	}
	return json.Marshal(v)
}

func (Signup) Decode(data []byte) (any, error) {
	var s signup
	if err := decode("signup", data, &s); err != nil {
		return nil, err
	}
	if s.RequestID == uuid.Nil || s.Offset < 0 {
		return nil, fmt.Errorf("decode signup: no request ID or a negative offset")
	}
	next := s.Offset + 1
	if s.NextOffset != nil {
		next = *s.NextOffset
	}
	if next <= s.Offset || len(s.Keys) > wallet.MaxKeys {
		return nil, fmt.Errorf("decode signup: version %d not after the winning claim's offset %d, or %d keys (at most %d)", next, s.Offset, len(s.Keys), wallet.MaxKeys)
	}
	out := wallet.Signup{
		Claim:      wallet.Claim{RequestID: s.RequestID, Username: s.Username, OverdraftLimit: s.OverdraftLimit, KeyHash: toHash(s.KeyHash)},
		Offset:     s.Offset,
		NextOffset: next,
	}
	for _, k := range s.Keys {
		out.Keys = append(out.Keys, wallet.Key{Hash: wallet.KeyHash(k.Hash), RequestID: k.RequestID})
	}
	return out, nil
}
