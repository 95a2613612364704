package wallet

import "github.com/google/uuid"

// DefaultMaxOverdraft is the largest overdraft limit an account may be
// signed up with unless configured otherwise.
var DefaultMaxOverdraft = MustParseMoney("1000.00")

// Claim is a client's claim of a username, stored in
// wallet.signup_request under the username's account key. The first claim
// of a key wins it.
type Claim struct {
	RequestID uuid.UUID
	// Username is the name as the client typed it (trimmed): the winner's
	// is the account's display name.
	Username string
	// OverdraftLimit is how far below zero the account may go.
	OverdraftLimit Money
	// KeyHash is the hash of the API key that the API issued with the
	// claim: the account's first key if the claim wins. Nil for a claim
	// written without one (the operator can issue the account a key).
	KeyHash *KeyHash
}

// Key checks what any claim must be, whatever the configured maximum
// overdraft (a request ID, a name that can be signed up, a limit not
// below zero), and returns the account key the claim is for.
func (c Claim) Key() (string, error) {
	if c.RequestID == uuid.Nil {
		return "", Errorf(ERequestIDInvalid, "signup request ID must be a valid UUID")
	}
	key, err := UsernameKey(c.Username)
	if err != nil {
		return "", err
	}
	if c.OverdraftLimit.IsNegative() {
		return "", Errorf(EOverdraftLimitInvalid, "overdraft limit must not be negative")
	}
	return key, nil
}

// Validate checks a claim as Key does and its limit against maxOverdraft,
// the largest allowed (the zero Money means DefaultMaxOverdraft), and
// returns the account key the claim is for.
func (c Claim) Validate(maxOverdraft Money) (string, error) {
	if maxOverdraft.IsZero() {
		maxOverdraft = DefaultMaxOverdraft
	}
	key, err := c.Key()
	if err != nil {
		return "", err
	}
	if c.OverdraftLimit.GreaterThan(maxOverdraft) {
		return "", Errorf(EOverdraftLimitInvalid, "overdraft limit must be from 0.00 to %s", maxOverdraft)
	}
	return key, nil
}

// Signup is the claim that won a username, as the signup group keeps it,
// with the account's API keys.
type Signup struct {
	Claim
	// Offset is the offset of the winning claim's message in its
	// partition of wallet.signup_request: the winner of the name for ever.
	Offset int64
	// Keys are the account's valid API keys, oldest first: the winning
	// claim's, then those issued by key changes and not revoked.
	Keys []Key
	// NextOffset is the offset after the last message of the key's
	// partition of wallet.signup_request that this state reflects (the
	// winning claim or a later key change): a message below it is a
	// replay and changes nothing. It is the signup's version.
	NextOffset int64
}

// Equal reports whether two claims are the same, names spelled alike.
func (c Claim) Equal(o Claim) bool {
	return c.RequestID == o.RequestID && c.Username == o.Username && c.OverdraftLimit.Equal(o.OverdraftLimit) &&
		(c.KeyHash == nil) == (o.KeyHash == nil) && (c.KeyHash == nil || *c.KeyHash == *o.KeyHash)
}
