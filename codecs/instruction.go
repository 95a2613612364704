package codecs

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// Instruction encodes a wallet.Instruction as JSON that any Kafka client
// can read, with only the fields of its kind:
//
//	{"request_id":"…","kind":"open","account":"bob","username":"Bob","overdraft_limit":"0.00"}
//	{"request_id":"…","kind":"debit","account":"alice","from":"Alice","to":"Bob","amount":"0.50"}
//
// Decode rejects an instruction that fails validation.
type Instruction struct{}

// instruction is the JSON form of a wallet.Instruction.
type instruction struct {
	RequestID      uuid.UUID     `json:"request_id"`
	Kind           wallet.Kind   `json:"kind"`
	Account        string        `json:"account"`
	From           string        `json:"from,omitempty"`
	To             string        `json:"to,omitempty"`
	Amount         *wallet.Money `json:"amount,omitempty"`
	Username       string        `json:"username,omitempty"`
	OverdraftLimit *wallet.Money `json:"overdraft_limit,omitempty"`
}

func (Instruction) Encode(value any) ([]byte, error) {
	in, ok := value.(wallet.Instruction)
	if !ok {
		return nil, fmt.Errorf("encode instruction: got %T", value)
	}
	w := instruction{RequestID: in.RequestID, Kind: in.Kind, Account: in.Account}
	if in.Kind == wallet.Open {
		w.Username, w.OverdraftLimit = in.Username, &in.OverdraftLimit
	} else {
		w.From, w.To, w.Amount = in.From, in.To, &in.Amount
	}
	return json.Marshal(w)
}

func (Instruction) Decode(data []byte) (any, error) {
	var w instruction
	if err := decode("instruction", data, &w); err != nil {
		return nil, err
	}
	in := wallet.Instruction{RequestID: w.RequestID, Kind: w.Kind, Account: w.Account,
		From: w.From, To: w.To, Username: w.Username}
	if w.Amount != nil {
		in.Amount = *w.Amount
	}
	if w.OverdraftLimit != nil {
		in.OverdraftLimit = *w.OverdraftLimit
	}
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("decode instruction: %w", err)
	}
	return in, nil
}
