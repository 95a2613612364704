// Package codecs holds the goka codecs of the wallet's messages and table
// values, one per domain type: JSON for the messages on the logs (Claim,
// Instruction, Transfer, and TransferLog for the transfer log's requests and
// outcomes) and for the signup table (Signup); a compact binary form for
// the tables rewritten on every message (Account, TransferState). Decode
// rejects malformed or invalid bytes with an error that names the type; it
// never returns a zero value in their place. Lenient turns such bytes into
// a Poison for the dead letters, and Raw passes bytes through.
package codecs

import (
	"encoding/json"
	"fmt"

	"github.com/lovoo/goka"
)

// Poison is what Lenient decodes from bytes that its codec rejects: the
// original bytes and the reason, for the dead-letter topic.
type Poison struct {
	Value []byte
	Err   error
}

// Lenient wraps a codec so that Decode never fails: bytes the codec rejects
// decode to a Poison. goka stops a processor when an input fails to
// decode, so inputs use Lenient and the callback sends poison to the
// dead-letter topic instead of crash-looping.
type Lenient struct {
	Codec goka.Codec
}

// Encode encodes with the wrapped codec, except that raw bytes pass
// through unchanged: a test or tool can write poison with the same codec.
func (c Lenient) Encode(value any) ([]byte, error) {
	if b, ok := value.([]byte); ok {
		return b, nil
	}
	return c.Codec.Encode(value)
}

func (c Lenient) Decode(data []byte) (any, error) {
	v, err := c.Codec.Decode(data)
	if err != nil {
		return Poison{Value: append([]byte(nil), data...), Err: err}, nil
	}
	return v, nil
}

// Raw passes bytes through unchanged: the dead-letter topic keeps the
// original message as it was.
type Raw struct{}

func (Raw) Encode(value any) ([]byte, error) {
	b, ok := value.([]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot encode %T, want []byte", value)
	}
	return b, nil
}

func (Raw) Decode(data []byte) (any, error) { return data, nil }

// decode unmarshals data into v, naming the type in the error.
func decode(name string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}
