package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/google/uuid"
	"github.com/wallet/wallet"
)

// transferBody is the body of POST /api/v1/transfers as a client sends
// it, before normalisation and validation.
type transferBody struct {
	RequestID *string         `json:"request_id"`
	From      *string         `json:"from"`
	To        *string         `json:"to"`
	Amount    json.RawMessage `json:"amount"`
}

// DecodeTransfer parses a client's JSON body into a normalised, valid
// Transfer: request ID in canonical lower-case form, account names
// trimmed, amount exact. Every failure is an *Error with the code the API
// documents. max is as for Transfer.Validate.
func DecodeTransfer(body []byte, max wallet.Money) (wallet.Transfer, error) {
	var req transferBody
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &req) != nil {
		return wallet.Transfer{}, wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON")
	}
	var t wallet.Transfer
	if req.RequestID != nil {
		// An unparsable ID stays the nil UUID, which Validate reports.
		if u, err := uuid.Parse(strings.TrimSpace(*req.RequestID)); err == nil {
			t.RequestID = u
		}
	}
	if req.From != nil {
		t.From = strings.TrimSpace(*req.From)
	}
	if req.To != nil {
		t.To = strings.TrimSpace(*req.To)
	}
	// Validate everything but the amount first, so that the codes come in
	// the documented order.
	t.Amount = wallet.MinAmount
	if err := t.Validate(max); err != nil {
		return wallet.Transfer{}, err
	}
	amount, err := decodeAmount(req.Amount)
	if err != nil {
		return wallet.Transfer{}, err
	}
	t.Amount = amount
	if err := t.Validate(max); err != nil {
		return wallet.Transfer{}, err
	}
	return t, nil
}

// decodeAmount reads the amount as a JSON string or number. Anything else
// is invalid_json; a value that is not an exact two-place decimal is
// amount_invalid.
func decodeAmount(raw json.RawMessage) (wallet.Money, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return wallet.Money{}, wallet.Errorf(wallet.EAmountInvalid, "amount is required")
	}
	s, err := wallet.AmountText(raw)
	if err != nil {
		return wallet.Money{}, wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON")
	}
	m, err := wallet.ParseMoney(strings.TrimSpace(s))
	if err != nil {
		return wallet.Money{}, wallet.Errorf(wallet.EAmountInvalid, "%v", err)
	}
	return m, nil
}
