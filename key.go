package wallet

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/google/uuid"
)

// An API key authenticates a client as one account. Its form follows the
// best-known designs (GitHub's tokens, Stripe's keys):
//
//		wlt_<account>_<secret><checksum>
//
//	  - "wlt_" is a prefix that secret scanners can match;
//	  - <account> is the account key in lower-case base32 (0-9a-v): the key
//	    says whose it is, so one lookup verifies it, and a valid key of
//	    another account can be told (403) from a key of none (401);
//	  - <secret> is 32 random bytes (256 bits) in base62, 43 characters;
//	  - <checksum> is the CRC-32 of everything before it, in base62, 6
//	    characters, so that a scanner or the API can tell a key from a typo
//	    without a lookup.
//
// Only letters, digits and underscores, so a double click selects it all.
// The wallet stores only the key's SHA-256 (KeyHash): a key has 256 bits
// of randomness, so a fast hash is as good as a slow one, and the key is
// shown once, when it is issued.
const KeyPrefix = "wlt_"

const (
	secretLen   = 43
	checksumLen = 6
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// MaxKeys is the most API keys an account may hold at once: rotation
// issues a new key before the old one is revoked.
const MaxKeys = 5

var accountEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// KeyHash is the SHA-256 of an API key: what the wallet stores of it.
type KeyHash [sha256.Size]byte

// HashKey returns the hash of an API key.
func HashKey(key string) KeyHash { return sha256.Sum256([]byte(key)) }

// ID returns the key's public identifier: the first 6 bytes of its hash
// in hex. It names a key to revoke, and may be shown and logged.
func (h KeyHash) ID() string { return hex.EncodeToString(h[:6]) }

// NewKey returns a new API key of the account key, and its hash.
func NewKey(account string) (string, KeyHash, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", KeyHash{}, err
	}
	body := KeyPrefix + accountEncoding.EncodeToString([]byte(account)) + "_" + encode62(secret[:], secretLen)
	key := body + checksum(body)
	return key, HashKey(key), nil
}

// OperatorKeyPrefix begins the operator's keys, which name no account.
const OperatorKeyPrefix = "wltop_"

// NewOperatorKey returns a new key for the operator: the prefix and 256
// random bits in base62.
func NewOperatorKey() (string, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", err
	}
	return OperatorKeyPrefix + encode62(secret[:], secretLen), nil
}

// KeyAccount returns the account key that an API key names; ok is false
// when key is not in the form of an API key or its checksum is wrong. It
// says nothing of whether the key is valid: only the account's signup
// decides that (Signup.HasKey).
func KeyAccount(key string) (account string, ok bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok || len(rest) < 1+secretLen+checksumLen || len(key) > 512 {
		return "", false
	}
	body, sum := key[:len(key)-checksumLen], key[len(key)-checksumLen:]
	if checksum(body) != sum {
		return "", false
	}
	enc, secret, ok := strings.Cut(rest[:len(rest)-checksumLen], "_")
	if !ok || len(secret) != secretLen {
		return "", false
	}
	raw, err := accountEncoding.DecodeString(enc)
	if err != nil || len(raw) == 0 {
		return "", false
	}
	return string(raw), true
}

func checksum(body string) string {
	var b [4]byte
	sum := crc32.ChecksumIEEE([]byte(body))
	b[0], b[1], b[2], b[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return encode62(b[:], checksumLen)
}

// encode62 returns b in base62, left-padded with zeros to n characters.
func encode62(b []byte, n int) string {
	out := []byte(new(big.Int).SetBytes(b).Text(62))
	// big.Int's digits above 9 are a-z then A-Z; map them onto base62's.
	for i, c := range out {
		out[i] = base62[strings.IndexByte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", c)]
	}
	return strings.Repeat("0", n-len(out)) + string(out)
}

// Key is an API key as an account's signup keeps it.
type Key struct {
	Hash KeyHash
	// RequestID is the request that issued it: the signup's, or a key
	// change's. A request is answered with the key only while its request
	// ID's key is the one the request itself made (see the API).
	RequestID uuid.UUID
}

// HasKey reports whether key is one of the account's valid keys,
// comparing in constant time.
func (s Signup) HasKey(key string) bool {
	h := HashKey(key)
	found := 0
	for _, k := range s.Keys {
		found |= subtle.ConstantTimeCompare(h[:], k.Hash[:])
	}
	return found == 1
}

// HasHash reports whether the account holds the key of hash h.
func (s Signup) HasHash(h KeyHash) bool {
	for _, k := range s.Keys {
		if k.Hash == h {
			return true
		}
	}
	return false
}

// Issued returns the key issued by request id, if the account holds one.
func (s Signup) Issued(id uuid.UUID) (Key, bool) {
	for _, k := range s.Keys {
		if k.RequestID == id {
			return k, true
		}
	}
	return Key{}, false
}

// KeyChange is a change of an account's API keys, stored in
// wallet.signup_request under the account key beside its claims, so that
// the account's signup partition decides it in order with them. The API
// writes one only for a client it has authenticated as the account's
// owner or the operator.
type KeyChange struct {
	RequestID uuid.UUID
	// Account is the account key.
	Account string
	// Issue is the hash of a new key; nil issues none.
	Issue *KeyHash
	// Revoke is the ID (KeyHash.ID) of a key to revoke; "" revokes none.
	Revoke string
}

// Validate checks what any key change must be and returns its account key.
func (k KeyChange) Validate() (string, error) {
	if k.RequestID == uuid.Nil {
		return "", Errorf(ERequestIDInvalid, "key change request ID must be a valid UUID")
	}
	key, err := AccountKey(k.Account)
	if err != nil {
		return "", err
	}
	if key != k.Account || key == World {
		return "", Errorf(EAccountInvalid, "%q is not the key of an account that may hold API keys", k.Account)
	}
	if k.Issue == nil && k.Revoke == "" {
		return "", Errorf(EKeyChangeInvalid, "a key change issues a key, revokes one, or both")
	}
	return key, nil
}
