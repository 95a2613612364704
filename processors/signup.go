package processors

import (
	"fmt"
	"io"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// ClaimDecision is what the signup group does with one claim.
type ClaimDecision struct {
	// Won is true when the claim's request owns the account: it is the
	// first claim of the key, or a claim with the owner's request ID.
	Won bool
	// Store is the value to write to the table; nil leaves it as it is.
	Store *wallet.Signup
	// Open is the instruction to emit to the account's partition; nil for
	// none.
	Open *wallet.Instruction
}

// DecideClaim decides claim c of account key, delivered at offset in the
// key's partition of the signup log, given the signup stored for the key
// (nil if none). The first claim of a key wins: it is stored with its
// offset and opens the account. A later claim with another request ID
// loses and changes nothing; one with the owner's request ID wins again,
// answered from the state with nothing emitted: a client's re-post, or
// the winning claim replayed (its signup and open were committed with
// it).
//
// The winning claim's key hash, if it has one, is the account's first API
// key.
func DecideClaim(stored *wallet.Signup, c wallet.Claim, key string, offset int64) ClaimDecision {
	switch {
	case stored == nil:
		s := wallet.Signup{Claim: c, Offset: offset, NextOffset: offset + 1}
		if c.KeyHash != nil {
			s.Keys = []wallet.Key{{Hash: *c.KeyHash, RequestID: c.RequestID}}
		}
		return ClaimDecision{Won: true, Store: &s, Open: openOf(s, key)}
	case stored.RequestID != c.RequestID:
		return ClaimDecision{}
	}
	return ClaimDecision{Won: true}
}

// DecideKeyChange decides key change k, delivered at offset in the
// account's partition of the signup log, given the account's signup (nil
// if none). It returns the signup to store, or nil to leave it as it is
// (a re-post of a key already issued), or an error for a change that
// cannot be made: of an account no claim has won (account_not_found), or
// one that would give the account more than wallet.MaxKeys keys
// (too_many_keys). The revocation comes before the issue, so that a
// rotation of an account holding the most keys succeeds. Revoking a key
// the account does not hold changes nothing else.
func DecideKeyChange(stored *wallet.Signup, k wallet.KeyChange, offset int64) (*wallet.Signup, error) {
	if stored == nil {
		return nil, wallet.Errorf(wallet.EAccountNotFound, "account %q not found", k.Account)
	}
	if _, ok := stored.Issued(k.RequestID); ok && k.Issue != nil {
		return nil, nil
	}
	s := *stored
	s.Keys = nil
	for _, key := range stored.Keys {
		if key.Hash.ID() != k.Revoke {
			s.Keys = append(s.Keys, key)
		}
	}
	if k.Issue != nil && !s.HasHash(*k.Issue) {
		if len(s.Keys) >= wallet.MaxKeys {
			return nil, wallet.Errorf(wallet.ETooManyKeys, "account %q holds %d API keys, the most it may: revoke one first", k.Account, len(s.Keys))
		}
		s.Keys = append(s.Keys, wallet.Key{Hash: *k.Issue, RequestID: k.RequestID})
	}
	s.NextOffset = offset + 1
	return &s, nil
}

func openOf(s wallet.Signup, key string) *wallet.Instruction {
	return &wallet.Instruction{RequestID: s.RequestID, Kind: wallet.Open, Account: key,
		Username: s.Username, OverdraftLimit: s.OverdraftLimit}
}

// Signup configures the signup group.
type Signup struct {
	// MaxOverdraft is the largest overdraft limit a claim may ask for;
	// zero means wallet.DefaultMaxOverdraft. A claim above it (written by
	// another producer than the API) is dead-lettered.
	MaxOverdraft wallet.Money
	// Bounds refuse the claims and table records that no API or processor
	// writes: a claim in another partition than its key's is
	// dead-lettered, since there the first claim would not be the only
	// one. Required.
	Bounds Bounds
	// Out, if set, receives a line for every decision:
	// "2:0 <request_id> bob ✅" when the claim owns the account, "❌" when
	// another claim does.
	Out io.Writer
}

// NewSignup returns the signup processor. opts must say how to reach Kafka
// and where to keep state (or goka.WithTester).
func NewSignup(brokers []string, s Signup, opts ...goka.ProcessorOption) (*goka.Processor, error) {
	return newProcessor(brokers, topology.SignupGraph(s.claim), s.Bounds, Bounds.ReadSignups, opts)
}

func (s Signup) claim(ctx goka.Context, msg any) {
	if p, ok := poison(msg); ok {
		deadLetter(ctx, p)
		return
	}
	if k, ok := msg.(wallet.KeyChange); ok {
		s.keyChange(ctx, k)
		return
	}
	c := msg.(wallet.Claim)
	raw := func() ([]byte, error) { return topology.ClaimCodec.Encode(c) }
	key, err := c.Validate(s.MaxOverdraft)
	if err == nil && key != ctx.Key() {
		err = fmt.Errorf("key %q is not the account key %q of %q", ctx.Key(), key, c.Username)
	}
	if err == nil {
		err = misplaced(key, ctx.Partition(), s.Bounds.Partitions)
	}
	if err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	signup, ok := stored[wallet.Signup](ctx, raw)
	if !ok {
		return
	}
	if signup != nil && ctx.Offset() < signup.NextOffset {
		// A claim the state reflects, replayed: nothing changes and
		// nothing is emitted.
		return
	}
	d := DecideClaim(signup, c, key, ctx.Offset())
	// Counted once per claim decided: a claim with the owner's request ID
	// (a re-post) is not a new decision.
	switch {
	case signup == nil:
		won.Inc()
	case !d.Won:
		taken.Inc()
	}
	if d.Store != nil {
		ctx.SetValue(*d.Store)
	}
	if d.Open != nil {
		ctx.Emit(topology.Instructions, d.Open.Account, *d.Open)
	}
	if s.Out != nil {
		mark := "❌"
		if d.Won {
			mark = "✅"
		}
		fmt.Fprintf(s.Out, "%d:%d %s %s %s\n", ctx.Partition(), ctx.Offset(), c.RequestID, key, mark)
	}
}

// keyChange adapts DecideKeyChange: a change that cannot be made goes to
// the dead letters with the reason (the API checks what it can before it
// writes one, so only a race or another producer gets there).
func (s Signup) keyChange(ctx goka.Context, k wallet.KeyChange) {
	raw := func() ([]byte, error) { return topology.ClaimCodec.Encode(k) }
	key, err := k.Validate()
	if err == nil && key != ctx.Key() {
		err = fmt.Errorf("key %q is not the account %q of the key change", ctx.Key(), key)
	}
	if err == nil {
		err = misplaced(key, ctx.Partition(), s.Bounds.Partitions)
	}
	if err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	signup, ok := stored[wallet.Signup](ctx, raw)
	if !ok || (signup != nil && ctx.Offset() < signup.NextOffset) {
		return
	}
	store, err := DecideKeyChange(signup, k, ctx.Offset())
	if err != nil {
		deadLetterInput(ctx, raw, err)
		return
	}
	if store != nil {
		ctx.SetValue(*store)
	}
	if s.Out != nil {
		fmt.Fprintf(s.Out, "%d:%d %s %s 🔑\n", ctx.Partition(), ctx.Offset(), k.RequestID, key)
	}
}
