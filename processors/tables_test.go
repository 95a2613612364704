package processors_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// updateContext is the position of a changelog record being read.
type updateContext struct {
	table     goka.Table
	partition int32
	offset    int64
}

func (u updateContext) Topic() goka.Stream  { return goka.Stream(u.table) }
func (u updateContext) Partition() int32    { return u.partition }
func (u updateContext) Offset() int64       { return u.offset }
func (updateContext) Headers() goka.Headers { return nil }
func (updateContext) Timestamp() time.Time  { return time.Time{} }

// readCase is a sequence of changelog records of key bob and what a reader
// stores from them.
type readCase struct {
	name      string
	partition int32 // of the records
	records   [][]byte
	want      string // stored at the end, as describe gives it; "" for none
	forged    int64
	stale     int64
}

// runReads reads each case's records with read, from a fresh storage,
// and checks what is stored and counted. The bounds are 4 partitions and
// an input partition whose end is 10.
func runReads(t *testing.T, table goka.Table, input goka.Stream, key string, read func(processors.Bounds) goka.UpdateCallback, describe func([]byte) string, tests []readCase) {
	t.Helper()
	const partitions, end = 4, 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storage.NewMemory()
			staleBefore, forgedBefore := processors.StaleRecords(), processors.ForgedRecords()
			reads := 0
			update := read(processors.Bounds{Partitions: partitions, End: func(topic goka.Stream, p int32) (int64, error) {
				if topic != input || p != tt.partition {
					t.Errorf("read the end of %s/%d, want %s/%d", topic, p, input, tt.partition)
				}
				reads++
				return end, nil
			}})
			for i, r := range tt.records {
				if err := update(updateContext{table, tt.partition, int64(i)}, s, key, r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			got := ""
			if b, err := s.Get(key); err != nil {
				t.Fatal(err)
			} else if b != nil {
				got = describe(b)
			}
			if got != tt.want {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
			if n := processors.StaleRecords() - staleBefore; n != tt.stale {
				t.Errorf("%d stale records counted, want %d", n, tt.stale)
			}
			if n := processors.ForgedRecords() - forgedBefore; n != tt.forged {
				t.Errorf("%d forged records counted, want %d", n, tt.forged)
			}
			// The end is read once, and again only to refuse a record.
			if reads > 1+int(tt.forged) {
				t.Errorf("read the end %d times for %d records", reads, len(tt.records))
			}
		})
	}
}

// Readers of the accountant's table keep the newest version of an account
// and ignore the records no processor writes: tombstones, versions beyond
// the end of the input partition, keys in another partition.
func TestReadAccounts(t *testing.T) {
	version := func(cents, next int64) []byte {
		b, err := topology.AccountCodec.Encode(wallet.Account{Balance: wallet.Cents(cents), NextOffset: next})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bobs := topology.Partition("bob", 4)
	runReads(t, topology.AccountTable, topology.Instructions, "bob", processors.Bounds.ReadAccounts, func(b []byte) string {
		v, err := topology.AccountCodec.Decode(b)
		if err != nil {
			return "undecodable"
		}
		return v.(wallet.Account).Balance.String()
	}, []readCase{
		{name: "in order", partition: bobs, records: [][]byte{version(100, 1), version(300, 5)}, want: "3.00"},
		// Only a forger writes an old version after a newer one.
		{name: "an old version after a newer one", partition: bobs, records: [][]byte{version(100, 1), version(300, 5), version(100, 1)}, want: "3.00", stale: 1},
		{name: "the same version twice", partition: bobs, records: [][]byte{version(100, 1), version(100, 1)}, want: "1.00"},
		{name: "a version at the end of the input", partition: bobs, records: [][]byte{version(100, 1), version(300, 10)}, want: "3.00"},
		// No processor deletes: a tombstone would wipe the account.
		{name: "a tombstone is ignored", partition: bobs, records: [][]byte{version(300, 5), nil}, want: "3.00", forged: 1},
		// A huge version would win over every honest one for ever and
		// freeze the account: the next honest version still wins.
		{name: "a version beyond the end is ignored", partition: bobs, records: [][]byte{version(300, 5), version(99999, 1<<62), version(400, 6)}, want: "4.00", forged: 1},
		{name: "a version one beyond the end is ignored", partition: bobs, records: [][]byte{version(300, 5), version(99999, 11)}, want: "3.00", forged: 1},
		{name: "a key in another partition is ignored", partition: (bobs + 1) % 4, records: [][]byte{version(300, 5)}, forged: 1},
		// A record that does not decode may be the newest version
		// damaged: it is stored, to poison the key, until a good record
		// repairs it.
		{name: "not an account", partition: bobs, records: [][]byte{version(300, 5), []byte("garbage")}, want: "undecodable"},
		{name: "repaired", partition: bobs, records: [][]byte{version(300, 5), []byte("garbage"), version(400, 6)}, want: "4.00"},
	})
}

// Readers of paymentd's table apply the same rules to transfers: a forged
// version beyond the end of the input cannot make a completed transfer
// read as rejected, nor another request's state be read as this one's.
func TestReadTransfers(t *testing.T) {
	tr := transfer(primerID, "Alice", "Bob", 50)
	of := func(tr wallet.Transfer, status wallet.Status, reason string, next int64) []byte {
		b, err := topology.TransferStateCodec.Encode(wallet.TransferState{Transfer: tr, Status: status, Reason: reason, RequestOffset: 0, NextOffset: next})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	version := func(status wallet.Status, reason string, next int64) []byte { return of(tr, status, reason, next) }
	another := transfer(otherID, "Mallory", "Bob", 5000)
	its := topology.Partition(primerID, 4)
	runReads(t, topology.TransferTable, topology.TransferRequests, primerID, processors.Bounds.ReadTransfers, func(b []byte) string {
		v, err := topology.TransferStateCodec.Decode(b)
		if err != nil {
			return "undecodable"
		}
		s, err := v.(codecs.StoredTransfer).For(primerID)
		if err != nil {
			return err.Error()
		}
		return string(s.Status)
	}, []readCase{
		{name: "pending then completed", partition: its, records: [][]byte{version(wallet.Pending, "", 1), version(wallet.Completed, "", 3)}, want: "completed"},
		{name: "a forged rejection beyond the end", partition: its, records: [][]byte{version(wallet.Completed, "", 3), version(wallet.Rejected, wallet.ReasonInsufficientFunds, 1<<40)}, want: "completed", forged: 1},
		{name: "a forged pending, older", partition: its, records: [][]byte{version(wallet.Completed, "", 3), version(wallet.Pending, "", 1)}, want: "completed", stale: 1},
		{name: "another request's, newer", partition: its, records: [][]byte{version(wallet.Pending, "", 1), of(another, wallet.Completed, "", 3)}, want: "pending", forged: 1},
		{name: "a tombstone", partition: its, records: [][]byte{version(wallet.Completed, "", 3), nil}, want: "completed", forged: 1},
	})
}

// Readers of the signup table keep the first winner of a name for ever: a
// second winner (another claim, even a later version, as a zombie or a
// forger would write) is ignored and counted, and so is a tombstone, which
// would free the name.
func TestReadSignups(t *testing.T) {
	first, second := uuid.MustParse(primerID), uuid.MustParse(otherID)
	signup := func(id uuid.UUID, offset int64, limit int64) []byte {
		b, err := topology.SignupCodec.Encode(wallet.Signup{Claim: wallet.Claim{RequestID: id, Username: "Bob", OverdraftLimit: wallet.Cents(limit)}, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bobs := topology.Partition("bob", 4)
	runReads(t, topology.SignupTable, topology.SignupRequests, "bob", processors.Bounds.ReadSignups, func(b []byte) string {
		v, err := topology.SignupCodec.Decode(b)
		if err != nil {
			return "undecodable"
		}
		s := v.(wallet.Signup)
		return s.RequestID.String()[:8] + " " + s.OverdraftLimit.String()
	}, []readCase{
		{name: "the winner", partition: bobs, records: [][]byte{signup(first, 2, 0)}, want: "a0eebc99 0.00"},
		{name: "the winner again", partition: bobs, records: [][]byte{signup(first, 2, 0), signup(first, 2, 0)}, want: "a0eebc99 0.00"},
		{name: "a later claim as a second winner", partition: bobs, records: [][]byte{signup(first, 2, 0), signup(second, 5, 0)}, want: "a0eebc99 0.00", forged: 1},
		{name: "an earlier claim as a second winner", partition: bobs, records: [][]byte{signup(first, 2, 0), signup(second, 1, 0)}, want: "a0eebc99 0.00", forged: 1},
		{name: "the winner's request at another offset", partition: bobs, records: [][]byte{signup(first, 2, 0), signup(first, 7, 0)}, want: "a0eebc99 0.00", forged: 1},
		{name: "a tombstone", partition: bobs, records: [][]byte{signup(first, 2, 0), nil}, want: "a0eebc99 0.00", forged: 1},
		{name: "a forged winner beyond the end", partition: bobs, records: [][]byte{signup(second, 1000, 100000)}, forged: 1},
		{name: "in another partition", partition: (bobs + 1) % 4, records: [][]byte{signup(first, 2, 0)}, forged: 1},
	})
}

// A failure to read the end offset fails the read: it is Kafka's
// failure, not the record's.
func TestReadEndUnknown(t *testing.T) {
	read := processors.Bounds{Partitions: 1, End: func(goka.Stream, int32) (int64, error) {
		return 0, errors.New("broker unreachable")
	}}.ReadAccounts()
	b, err := topology.AccountCodec.Encode(wallet.Account{NextOffset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := read(updateContext{topology.AccountTable, 0, 0}, storage.NewMemory(), "bob", b); err == nil || !strings.Contains(err.Error(), "broker unreachable") {
		t.Errorf("got %v, want the failure to read the end", err)
	}
}
