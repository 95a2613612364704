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
	if b, ok := canonicalInstruction(in); ok {
		return b, nil
	}
	return marshalInstruction(in)
}

// marshalInstruction is Encode for any instruction, with encoding/json.
func marshalInstruction(in wallet.Instruction) ([]byte, error) {
	w := instruction{RequestID: in.RequestID, Kind: in.Kind, Account: in.Account}
	if in.Kind == wallet.Open {
		w.Username, w.OverdraftLimit = in.Username, &in.OverdraftLimit
	} else {
		w.From, w.To, w.Amount = in.From, in.To, &in.Amount
	}
	return json.Marshal(w)
}

func (Instruction) Decode(data []byte) (any, error) {
	if in, ok := parseInstruction(string(data)); ok {
		return validInstruction(in)
	}
	return decodeInstructionJSON(data)
}

// decodeInstructionJSON is Decode for any input, with encoding/json.
func decodeInstructionJSON(data []byte) (any, error) {
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
	return validInstruction(in)
}

// validInstruction returns in if it passes wallet.Instruction.Validate.
func validInstruction(in wallet.Instruction) (any, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("decode instruction: %w", err)
	}
	return in, nil
}

// canonicalInstruction writes in as json.Marshal writes its wire struct:
// in openForm for an open, in debitForm for the other kinds. It reports
// false when a string is not verbatim or is empty, which json.Marshal
// omits (from, to, username), leaving such rare instructions to it.
func canonicalInstruction(in wallet.Instruction) ([]byte, bool) {
	kind := string(in.Kind)
	if in.Kind == wallet.Open {
		if in.Username == "" || !verbatim(kind, in.Account, in.Username) {
			return nil, false
		}
		b := make([]byte, 0, 160+len(kind)+len(in.Account)+len(in.Username))
		b = append(b, openForm[0]...)
		b = appendUUID(b, in.RequestID)
		b = append(b, openForm[1]...)
		b = append(b, kind...)
		b = append(b, openForm[2]...)
		b = append(b, in.Account...)
		b = append(b, openForm[3]...)
		b = append(b, in.Username...)
		b = append(b, openForm[4]...)
		b = in.OverdraftLimit.Append(b)
		return append(b, `"}`...), true
	}
	if in.From == "" || in.To == "" || !verbatim(kind, in.Account, in.From, in.To) {
		return nil, false
	}
	b := make([]byte, 0, 160+len(kind)+len(in.Account)+len(in.From)+len(in.To))
	b = append(b, debitForm[0]...)
	b = appendUUID(b, in.RequestID)
	b = append(b, debitForm[1]...)
	b = append(b, kind...)
	b = append(b, debitForm[2]...)
	b = append(b, in.Account...)
	b = append(b, debitForm[3]...)
	b = append(b, in.From...)
	b = append(b, debitForm[4]...)
	b = append(b, in.To...)
	b = append(b, debitForm[5]...)
	b = in.Amount.Append(b)
	return append(b, `"}`...), true
}

// parseInstruction reads an instruction in debitForm or openForm; it
// reports false for any other input, and for a request ID or an amount
// that does not parse, which decodeInstructionJSON reports.
func parseInstruction(s string) (wallet.Instruction, bool) {
	var v [6]string
	if debitForm.parse(s, v[:]) {
		id, err := uuid.Parse(v[0])
		if err != nil {
			return wallet.Instruction{}, false
		}
		amount, err := wallet.ParseMoney(v[5])
		if err != nil {
			return wallet.Instruction{}, false
		}
		return wallet.Instruction{RequestID: id, Kind: wallet.Kind(v[1]), Account: v[2], From: v[3], To: v[4], Amount: amount}, true
	}
	if openForm.parse(s, v[:]) {
		id, err := uuid.Parse(v[0])
		if err != nil {
			return wallet.Instruction{}, false
		}
		limit, err := wallet.ParseMoney(v[4])
		if err != nil {
			return wallet.Instruction{}, false
		}
		return wallet.Instruction{RequestID: id, Kind: wallet.Kind(v[1]), Account: v[2], Username: v[3], OverdraftLimit: limit}, true
	}
	return wallet.Instruction{}, false
}
