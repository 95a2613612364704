package codecs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// Transfer encodes a wallet.Transfer as the seed's JSON,
// {"request_id":"…","from":"Alice","amount":"0.50","to":"Bob"}; Decode
// rejects a transfer that fails wallet.Transfer.Check. The maximum amount
// is a setting, which the processors check (the codec has none).
type Transfer struct{}

func (Transfer) Encode(value any) ([]byte, error) {
	t, ok := value.(wallet.Transfer)
	if !ok {
		return nil, fmt.Errorf("encode transfer: got %T", value)
	}
	if b, ok := canonicalTransfer(t); ok {
		return b, nil
	}
	return json.Marshal(t)
}

func (Transfer) Decode(data []byte) (any, error) {
	if t, ok := parseTransfer(string(data)); ok {
		return checkTransfer(t)
	}
	return decodeTransferJSON(data)
}

// decodeTransferJSON is Decode for any input, with encoding/json.
func decodeTransferJSON(data []byte) (any, error) {
	var t wallet.Transfer
	if err := decode("transfer", data, &t); err != nil {
		return nil, err
	}
	return checkTransfer(t)
}

// checkTransfer returns t if it passes wallet.Transfer.Check.
func checkTransfer(t wallet.Transfer) (any, error) {
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("decode transfer: %w", err)
	}
	return t, nil
}

// canonicalTransfer writes t in transferForm, as json.Marshal writes it,
// unless a name is not verbatim.
func canonicalTransfer(t wallet.Transfer) ([]byte, bool) {
	if !verbatim(t.From, t.To) {
		return nil, false
	}
	b := make([]byte, 0, 128+len(t.From)+len(t.To))
	b = append(b, transferForm[0]...)
	b = appendUUID(b, t.RequestID)
	b = append(b, transferForm[1]...)
	b = append(b, t.From...)
	b = append(b, transferForm[2]...)
	b = t.Amount.Append(b)
	b = append(b, transferForm[3]...)
	b = append(b, t.To...)
	return append(b, `"}`...), true
}

// parseTransfer reads a transfer in transferForm; it reports false for
// any other input, and for a request ID or an amount that does not
// parse, which decodeTransferJSON reports.
func parseTransfer(s string) (wallet.Transfer, bool) {
	var v [4]string
	if !transferForm.parse(s, v[:]) {
		return wallet.Transfer{}, false
	}
	id, err := uuid.Parse(v[0])
	if err != nil {
		return wallet.Transfer{}, false
	}
	amount, err := wallet.ParseMoney(v[2])
	if err != nil {
		return wallet.Transfer{}, false
	}
	return wallet.Transfer{RequestID: id, From: v[1], Amount: amount, To: v[3]}, true
}

// TransferLog encodes what wallet.transfer_request carries: a
// wallet.Transfer as Transfer does, or a wallet.Outcome reported back by
// the accountant,
//
//	{"request_id":"…","kind":"outcome","status":"rejected","reason":"insufficient_funds"}
//
// so that `kcat -C -t wallet.transfer_request -k <id>` tells the story of
// a transfer. Decode tells them apart by the kind.
type TransferLog struct{}

// logMessage is the JSON form of either message of the transfer log, read
// in one pass.
type logMessage struct {
	RequestID uuid.UUID     `json:"request_id"`
	Kind      *string       `json:"kind"`
	From      *string       `json:"from"`
	Amount    *wallet.Money `json:"amount"`
	To        *string       `json:"to"`
	Status    wallet.Status `json:"status"`
	Reason    string        `json:"reason"`
}

// outcome is the JSON form of a wallet.Outcome.
type outcome struct {
	RequestID uuid.UUID     `json:"request_id"`
	Kind      string        `json:"kind"`
	Status    wallet.Status `json:"status"`
	Reason    string        `json:"reason,omitempty"`
}

const outcomeKind = "outcome"

func (TransferLog) Encode(value any) ([]byte, error) {
	o, ok := value.(wallet.Outcome)
	if !ok {
		return Transfer{}.Encode(value)
	}
	if b, ok := canonicalOutcome(o); ok {
		return b, nil
	}
	return marshalOutcome(o)
}

// marshalOutcome is Encode for any outcome, with encoding/json.
func marshalOutcome(o wallet.Outcome) ([]byte, error) {
	return json.Marshal(outcome{o.RequestID, outcomeKind, o.Status, o.Reason})
}

func (TransferLog) Decode(data []byte) (any, error) {
	s := string(data)
	if t, ok := parseTransfer(s); ok {
		return checkTransfer(t)
	}
	if o, ok := parseOutcome(s); ok {
		return checkOutcome(o)
	}
	return decodeTransferLogJSON(data)
}

// decodeTransferLogJSON is Decode for any input, with encoding/json.
func decodeTransferLogJSON(data []byte) (any, error) {
	var m logMessage
	if err := decode("transfer log message", data, &m); err != nil {
		return nil, err
	}
	if m.Kind == nil {
		var t wallet.Transfer
		t.RequestID = m.RequestID
		if m.From != nil {
			t.From = *m.From
		}
		if m.To != nil {
			t.To = *m.To
		}
		if m.Amount != nil {
			t.Amount = *m.Amount
		}
		return checkTransfer(t)
	}
	if *m.Kind != outcomeKind {
		return nil, fmt.Errorf("decode transfer log message: kind %q is not %q", *m.Kind, outcomeKind)
	}
	if m.From != nil || m.To != nil || m.Amount != nil {
		return nil, fmt.Errorf("decode outcome: an outcome carries no transfer")
	}
	return checkOutcome(wallet.Outcome{RequestID: m.RequestID, Status: m.Status, Reason: m.Reason})
}

// checkOutcome returns o if it passes wallet.Outcome.Validate.
func checkOutcome(o wallet.Outcome) (any, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("decode outcome: %w", err)
	}
	return o, nil
}

// canonicalOutcome writes o in outcomeForm, or rejectedForm when it has a
// reason (which json.Marshal omits when empty), unless its status or
// reason is not verbatim.
func canonicalOutcome(o wallet.Outcome) ([]byte, bool) {
	if !verbatim(string(o.Status), o.Reason) {
		return nil, false
	}
	f := outcomeForm
	if o.Reason != "" {
		f = rejectedForm
	}
	b := make([]byte, 0, 128+len(o.Status)+len(o.Reason))
	b = append(b, f[0]...)
	b = appendUUID(b, o.RequestID)
	b = append(b, f[1]...)
	b = append(b, o.Status...)
	if o.Reason != "" {
		b = append(b, f[2]...)
		b = append(b, o.Reason...)
	}
	return append(b, `"}`...), true
}

// parseOutcome reads an outcome in outcomeForm or rejectedForm; it reports
// false for any other input, and for a request ID that does not parse,
// which decodeTransferLogJSON reports.
func parseOutcome(s string) (wallet.Outcome, bool) {
	var v [3]string
	if !outcomeForm.parse(s, v[:]) && !rejectedForm.parse(s, v[:]) {
		return wallet.Outcome{}, false
	}
	id, err := uuid.Parse(v[0])
	if err != nil {
		return wallet.Outcome{}, false
	}
	return wallet.Outcome{RequestID: id, Status: wallet.Status(v[1]), Reason: v[2]}, true
}

// TransferState encodes paymentd's table value, a wallet.TransferState,
// in a compact binary form: it is written twice per transfer (pending,
// then final) and read for every message of the transfer's log. The key
// of the value is the transfer's request ID, so the value holds only a
// checksum of it, enough to tell a value written under another key. The
// form (format 2) is
//
//	format byte (2)
//	uvarint request offset, uvarint next offset minus request offset
//	status byte ('p', 'c', 'r'), reason byte (0, 'f' insufficient_funds, 'n' account_not_found)
//	CRC-32 (IEEE) of the key, 4 bytes, big-endian
//	uvarint length and bytes of: from, to
//	uvarint amount in cents
//
// Format 1, written before, held the request ID (16 bytes) instead of
// the checksum, two offsets and the amount as a decimal string; it still
// decodes. Encode takes a wallet.TransferState; Decode returns a
// StoredTransfer, whose For gives the state under its key.
type TransferState struct{}

const (
	transferStateFormat   = 2
	transferStateFormatV1 = 1
)

var (
	statusBytes = map[wallet.Status]byte{wallet.Pending: 'p', wallet.Completed: 'c', wallet.Rejected: 'r'}
	reasonBytes = map[string]byte{"": 0, wallet.ReasonInsufficientFunds: 'f', wallet.ReasonAccountNotFound: 'n'}
)

// StoredTransfer is a transfer state as decoded from paymentd's table,
// before it is matched with the key it was read under.
type StoredTransfer struct {
	state wallet.TransferState // RequestID is set in format 1 only
	sum   uint32               // the key's checksum, in format 2
}

// For returns the transfer state stored under key, a request ID. It fails
// if the value was written for another key: no processor writes that.
func (s StoredTransfer) For(key string) (wallet.TransferState, error) {
	st := s.state
	id, err := requestIDKey(key)
	switch {
	case st.RequestID != uuid.Nil: // format 1
		if err != nil || st.RequestID != id {
			return wallet.TransferState{}, fmt.Errorf("is for request ID %s", st.RequestID)
		}
	case err != nil || keySum(id) != s.sum:
		return wallet.TransferState{}, fmt.Errorf("is for another key (checksum %08x)", s.sum)
	}
	st.RequestID = id
	return st, nil
}

// TransferStateForAnotherKey reports, as For would, that the encoded
// transfer state data was written for another key than key, reading only
// the bytes that say so. A value that does not decode is for Decode to
// refuse: it returns nil for it.
func TransferStateForAnotherKey(data []byte, key string) error {
	_, _, rest, err := transferStateHeader(data)
	if err != nil {
		return nil
	}
	var s StoredTransfer
	switch {
	case data[0] == transferStateFormatV1 && len(rest) >= 2+16:
		copy(s.state.RequestID[:], rest[2:18])
	case data[0] == transferStateFormat && len(rest) >= 2+4:
		s.sum = binary.BigEndian.Uint32(rest[2:6])
	default:
		return nil
	}
	_, err = s.For(key)
	return err
}

// requestIDKey returns the request ID that key, a key of paymentd's table,
// names in canonical form.
func requestIDKey(key string) (uuid.UUID, error) {
	id, err := uuid.Parse(key)
	if err != nil {
		return uuid.Nil, err
	}
	var b [36]byte
	if string(appendUUID(b[:0], id)) != key {
		return uuid.Nil, fmt.Errorf("key %q is not a request ID in canonical form", key)
	}
	return id, nil
}

// keySum is the checksum of a transfer state's key, its request ID.
func keySum(id uuid.UUID) uint32 {
	var b [36]byte
	return crc32.ChecksumIEEE(appendUUID(b[:0], id))
}

func (TransferState) Encode(value any) ([]byte, error) {
	s, ok := value.(wallet.TransferState)
	if !ok {
		return nil, fmt.Errorf("encode transfer state: got %T", value)
	}
	status, ok := statusBytes[s.Status]
	reason, ok2 := reasonBytes[s.Reason]
	if !ok || !ok2 || s.RequestOffset < 0 || s.NextOffset <= s.RequestOffset || s.Amount.Cents() <= 0 {
		return nil, fmt.Errorf("encode transfer state: status %q, reason %q, offsets %d and %d, amount %s", s.Status, s.Reason, s.RequestOffset, s.NextOffset, s.Amount)
	}
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+2+4+2*binary.MaxVarintLen64+len(s.From)+len(s.To))
	b = append(b, transferStateFormat)
	b = binary.AppendUvarint(b, uint64(s.RequestOffset))
	b = binary.AppendUvarint(b, uint64(s.NextOffset-s.RequestOffset))
	b = append(b, status, reason)
	b = binary.BigEndian.AppendUint32(b, keySum(s.RequestID))
	for _, f := range []string{s.From, s.To} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return binary.AppendUvarint(b, uint64(s.Amount.Cents())), nil
}

func (TransferState) Decode(data []byte) (any, error) {
	var s StoredTransfer
	st := &s.state
	var rest []byte
	var err error
	if st.RequestOffset, st.NextOffset, rest, err = transferStateHeader(data); err != nil {
		return nil, err
	}
	idLen := 4
	if data[0] == transferStateFormatV1 {
		idLen = 16
	}
	if len(rest) < 2+idLen {
		return nil, fmt.Errorf("decode transfer state: truncated")
	}
	switch rest[0] {
	case 'p':
		st.Status = wallet.Pending
	case 'c':
		st.Status = wallet.Completed
	case 'r':
		st.Status = wallet.Rejected
	}
	switch rest[1] {
	case 'f':
		st.Reason = wallet.ReasonInsufficientFunds
	case 'n':
		st.Reason = wallet.ReasonAccountNotFound
	}
	if idLen == 16 {
		copy(st.RequestID[:], rest[2:18])
	} else {
		s.sum = binary.BigEndian.Uint32(rest[2:6])
	}
	rest = rest[2+idLen:]
	var names [2]string
	for i := range names {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, fmt.Errorf("decode transfer state: truncated")
		}
		names[i], rest = string(rest[k:k+int(n)]), rest[k+int(n):]
	}
	st.From, st.To = names[0], names[1]
	if st.Amount, rest, err = transferStateAmount(data[0], rest); err != nil {
		return nil, err
	}
	if len(rest) != 0 || st.Status == "" || (st.Status == wallet.Rejected) != (st.Reason != "") {
		return nil, fmt.Errorf("decode transfer state: not of a transfer (status %q, reason %q)", st.Status, st.Reason)
	}
	check := st.Transfer
	if idLen == 4 {
		check.RequestID = uuid.Max // the key's, which For checks
	}
	if err := check.Check(); err != nil {
		return nil, fmt.Errorf("decode transfer state: %w", err)
	}
	return s, nil
}

// transferStateAmount reads the amount of a transfer state in the given
// format: uvarint cents, or in format 1 a length-prefixed decimal
// string.
func transferStateAmount(format byte, b []byte) (wallet.Money, []byte, error) {
	if format == transferStateFormatV1 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return wallet.Money{}, nil, fmt.Errorf("decode transfer state: truncated")
		}
		m, err := wallet.ParseMoney(string(b[k : k+int(n)]))
		if err != nil {
			return wallet.Money{}, nil, fmt.Errorf("decode transfer state: %w", err)
		}
		return m, b[k+int(n):], nil
	}
	c, k := binary.Uvarint(b)
	if k <= 0 || c > math.MaxInt64 {
		return wallet.Money{}, nil, fmt.Errorf("decode transfer state: bad amount")
	}
	return wallet.Cents(int64(c)), b[k:], nil
}

// TransferStateNextOffset returns the NextOffset of an encoded transfer
// state without decoding the rest, for comparing versions.
func TransferStateNextOffset(data []byte) (int64, error) {
	_, next, _, err := transferStateHeader(data)
	return next, err
}

// transferStateHeader reads the format byte and the two offsets, and
// returns the bytes after them.
func transferStateHeader(data []byte) (request, next int64, rest []byte, err error) {
	if len(data) == 0 || (data[0] != transferStateFormat && data[0] != transferStateFormatV1) {
		return 0, 0, nil, fmt.Errorf("decode transfer state: unknown format")
	}
	r, k := binary.Uvarint(data[1:])
	if k <= 0 || r > math.MaxInt64 {
		return 0, 0, nil, fmt.Errorf("decode transfer state: bad request offset")
	}
	rest = data[1+k:]
	n, k := binary.Uvarint(rest)
	if data[0] == transferStateFormat {
		// The next offset follows the request's, by at least one.
		if k <= 0 || n == 0 || n > math.MaxInt64-r {
			return 0, 0, nil, fmt.Errorf("decode transfer state: bad next offset")
		}
		return int64(r), int64(r + n), rest[k:], nil
	}
	if k <= 0 || n > math.MaxInt64 || n <= r {
		return 0, 0, nil, fmt.Errorf("decode transfer state: bad next offset")
	}
	return int64(r), int64(n), rest[k:], nil
}
