package codecs

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// Transfer encodes a wallet.Transfer as the seed's JSON,
// {"request_id":"…","from":"Alice","amount":"0.50","to":"Bob"}; Decode
// rejects a transfer that fails validation.
type Transfer struct{}

func (Transfer) Encode(value any) ([]byte, error) {
	return encode[wallet.Transfer]("transfer", value)
}

func (Transfer) Decode(data []byte) (any, error) {
	var t wallet.Transfer
	if err := decode("transfer", data, &t); err != nil {
		return nil, err
	}
	if err := t.Validate(wallet.Money{}); err != nil {
		return nil, fmt.Errorf("decode transfer: %w", err)
	}
	return t, nil
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

// outcome is the JSON form of a wallet.Outcome.
type outcome struct {
	RequestID uuid.UUID     `json:"request_id"`
	Kind      string        `json:"kind"`
	Status    wallet.Status `json:"status"`
	Reason    string        `json:"reason,omitempty"`
}

const outcomeKind = "outcome"

func (TransferLog) Encode(value any) ([]byte, error) {
	if o, ok := value.(wallet.Outcome); ok {
		return json.Marshal(outcome{o.RequestID, outcomeKind, o.Status, o.Reason})
	}
	return Transfer{}.Encode(value)
}

func (TransferLog) Decode(data []byte) (any, error) {
	var kind struct {
		Kind *string `json:"kind"`
	}
	if err := decode("transfer log message", data, &kind); err != nil {
		return nil, err
	}
	if kind.Kind == nil {
		return Transfer{}.Decode(data)
	}
	if *kind.Kind != outcomeKind {
		return nil, fmt.Errorf("decode transfer log message: kind %q is not %q", *kind.Kind, outcomeKind)
	}
	var o outcome
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("decode outcome: %w", err)
	}
	out := wallet.Outcome{RequestID: o.RequestID, Status: o.Status, Reason: o.Reason}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("decode outcome: %w", err)
	}
	return out, nil
}

// TransferState encodes paymentd's table value, a wallet.TransferState, as
// JSON: the transfer as first requested, its status and reason, and the
// offsets that tell a redelivery from a re-post and order the versions.
type TransferState struct{}

// transferState is the JSON form of a wallet.TransferState.
type transferState struct {
	wallet.Transfer
	Status        wallet.Status `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	RequestOffset int64         `json:"request_offset"`
	NextOffset    int64         `json:"next_offset"`
}

func (TransferState) Encode(value any) ([]byte, error) {
	s, ok := value.(wallet.TransferState)
	if !ok {
		return nil, fmt.Errorf("encode transfer state: got %T", value)
	}
	return json.Marshal(transferState{s.Transfer, s.Status, s.Reason, s.RequestOffset, s.NextOffset})
}

func (TransferState) Decode(data []byte) (any, error) {
	var s transferState
	if err := decode("transfer state", data, &s); err != nil {
		return nil, err
	}
	if err := s.Transfer.Validate(wallet.Money{}); err != nil {
		return nil, fmt.Errorf("decode transfer state: %w", err)
	}
	if s.Status != wallet.Pending && !s.Status.Final() || s.RequestOffset < 0 || s.NextOffset <= s.RequestOffset {
		return nil, fmt.Errorf("decode transfer state: status %q, offsets %d and %d are not of a transfer", s.Status, s.RequestOffset, s.NextOffset)
	}
	return wallet.TransferState{Transfer: s.Transfer, Status: s.Status, Reason: s.Reason, RequestOffset: s.RequestOffset, NextOffset: s.NextOffset}, nil
}

// TransferStateNextOffset returns the NextOffset of an encoded transfer
// state, for comparing versions.
func TransferStateNextOffset(data []byte) (int64, error) {
	var s struct {
		NextOffset *int64 `json:"next_offset"`
	}
	if err := json.Unmarshal(data, &s); err != nil || s.NextOffset == nil {
		return 0, fmt.Errorf("decode transfer state: no next offset")
	}
	return *s.NextOffset, nil
}
