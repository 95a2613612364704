package codecs_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
)

// BenchmarkCodecs measures the JSON codecs on the processing path, each
// message as it is on the topics: a debit on wallet.payment, a transfer
// request and an outcome on wallet.transfer_request.
//
//	go test -run '^$' -bench Codecs -benchmem -count 6 ./codecs/
var sinkCodec any

func BenchmarkCodecs(b *testing.B) {
	id := uuid.MustParse(primerID)
	transfer := wallet.Transfer{RequestID: id, From: "Alice", To: "Bob", Amount: wallet.MustParseMoney("0.50")}
	messages := []struct {
		name  string
		codec goka.Codec
		value any
	}{
		{"instruction", codecs.Instruction{}, transfer.Debit()},
		{"transfer", codecs.TransferLog{}, transfer},
		{"outcome", codecs.TransferLog{}, wallet.Outcome{RequestID: id, Status: wallet.Rejected, Reason: wallet.ReasonInsufficientFunds}},
	}
	for _, m := range messages {
		b.Run(m.name+"/encode+decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				raw, err := m.codec.Encode(m.value)
				if err != nil {
					b.Fatal(err)
				}
				if sinkCodec, err = m.codec.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/decode", func(b *testing.B) {
			raw, err := m.codec.Encode(m.value)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if sinkCodec, err = m.codec.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
