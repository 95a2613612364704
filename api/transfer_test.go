package api_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

func TestDecodeTransfer(t *testing.T) {
	tests := []struct {
		name string
		body string
		code string // "" for a valid transfer
		want wallet.Transfer
	}{
		{"primer", `{"request_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","from":"Alice","to":"Bob","amount":"0.5"}`, "",
			wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}},
		{"amount as number", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":0.5}`, "",
			wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}},
		{"amount with exponent", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":1e2}`, "",
			wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(10000)}},
		{"upper-case UUID and padded names", `{"request_id":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","from":"  Alice ","to":"\tBob","amount":"0.50"}`, "",
			wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(50)}},
		{"max amount", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"1000000000.00"}`, "",
			wallet.Transfer{RequestID: uuid.MustParse(primerID), From: "Alice", To: "Bob", Amount: wallet.Cents(100000000000)}},

		{"not JSON", `{`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"array", `[]`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"null", `null`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"trailing data", `{"request_id":"` + primerID + `","from":"A","to":"B","amount":"1"} {}`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"from is a number", `{"request_id":"` + primerID + `","from":5,"to":"Bob","amount":"1"}`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"amount is a bool", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":true}`, wallet.EInvalidJSON, wallet.Transfer{}},
		{"request_id missing", `{"from":"Alice","to":"Bob","amount":"1"}`, wallet.ERequestIDInvalid, wallet.Transfer{}},
		{"request_id not a UUID", `{"request_id":"42","from":"Alice","to":"Bob","amount":"1"}`, wallet.ERequestIDInvalid, wallet.Transfer{}},
		{"from missing", `{"request_id":"` + primerID + `","to":"Bob","amount":"1"}`, wallet.EFromRequired, wallet.Transfer{}},
		{"from blank", `{"request_id":"` + primerID + `","from":"   ","to":"Bob","amount":"1"}`, wallet.EFromRequired, wallet.Transfer{}},
		{"to missing", `{"request_id":"` + primerID + `","from":"Alice","amount":"1"}`, wallet.EToRequired, wallet.Transfer{}},
		{"same account", `{"request_id":"` + primerID + `","from":"Alice","to":" Alice","amount":"1"}`, wallet.ESameAccount, wallet.Transfer{}},
		{"account too long", `{"request_id":"` + primerID + `","from":"` + strings.Repeat("a", 65) + `","to":"Bob","amount":"1"}`, wallet.EAccountInvalid, wallet.Transfer{}},
		{"account with control character", `{"request_id":"` + primerID + `","from":"Al\u0000ice","to":"Bob","amount":"1"}`, wallet.EAccountInvalid, wallet.Transfer{}},
		{"amount zero", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"0"}`, wallet.EAmountLtMin, wallet.Transfer{}},
		{"amount negative", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":-1}`, wallet.EAmountLtMin, wallet.Transfer{}},
		{"amount too precise", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":0.001}`, wallet.EAmountInvalid, wallet.Transfer{}},
		{"amount not a number", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"abc"}`, wallet.EAmountInvalid, wallet.Transfer{}},
		{"amount missing", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob"}`, wallet.EAmountInvalid, wallet.Transfer{}},
		{"amount above max", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"1000000000.01"}`, wallet.EAmountGtMax, wallet.Transfer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := api.DecodeTransfer([]byte(tt.body), wallet.Money{})
			if tt.code != "" {
				if code := wallet.ErrorCode(err); code != tt.code {
					t.Fatalf("DecodeTransfer(%s) = %+v, %v; want code %s", tt.body, got, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeTransfer(%s): %v", tt.body, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("DecodeTransfer(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestDecodeTransferConfiguredMax(t *testing.T) {
	body := `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"100.01"}`
	_, err := api.DecodeTransfer([]byte(body), wallet.MustParseMoney("100"))
	if code := wallet.ErrorCode(err); code != wallet.EAmountGtMax {
		t.Errorf("code = %s, want %s", code, wallet.EAmountGtMax)
	}
}
