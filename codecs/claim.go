package codecs

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// Claim encodes a wallet.Claim as the design's JSON,
// {"request_id":"…","username":"Bob","overdraft_limit":"0.00"}. Decode
// rejects a claim no API could have written (no request ID, a name that
// cannot be signed up, a negative limit); the limit's maximum is a setting
// of the signup group, which checks it.
type Claim struct{}

// claim is the JSON form of a wallet.Claim.
type claim struct {
	RequestID      uuid.UUID    `json:"request_id"`
	Username       string       `json:"username"`
	OverdraftLimit wallet.Money `json:"overdraft_limit"`
}

func (Claim) Encode(value any) ([]byte, error) {
	c, ok := value.(wallet.Claim)
	if !ok {
		return nil, fmt.Errorf("encode claim: got %T", value)
	}
	return json.Marshal(claim{c.RequestID, c.Username, c.OverdraftLimit})
}

func (Claim) Decode(data []byte) (any, error) {
	var c claim
	if err := decode("claim", data, &c); err != nil {
		return nil, err
	}
	out := wallet.Claim{RequestID: c.RequestID, Username: c.Username, OverdraftLimit: c.OverdraftLimit}
	if _, err := out.Key(); err != nil {
		return nil, fmt.Errorf("decode claim: %w", err)
	}
	return out, nil
}

// Signup encodes the signup group's table value, a wallet.Signup: the
// winning claim and the offset of its message, as JSON (it is written once
// per account).
type Signup struct{}

// signup is the JSON form of a wallet.Signup.
type signup struct {
	claim
	Offset int64 `json:"offset"`
}

func (Signup) Encode(value any) ([]byte, error) {
	s, ok := value.(wallet.Signup)
	if !ok {
		return nil, fmt.Errorf("encode signup: got %T", value)
	}
	return json.Marshal(signup{claim{s.RequestID, s.Username, s.OverdraftLimit}, s.Offset})
}

func (Signup) Decode(data []byte) (any, error) {
	var s signup
	if err := decode("signup", data, &s); err != nil {
		return nil, err
	}
	if s.RequestID == uuid.Nil || s.Offset < 0 {
		return nil, fmt.Errorf("decode signup: no request ID or a negative offset")
	}
	return wallet.Signup{Claim: wallet.Claim{RequestID: s.RequestID, Username: s.Username, OverdraftLimit: s.OverdraftLimit}, Offset: s.Offset}, nil
}
