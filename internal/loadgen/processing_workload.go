package loadgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/internal/harness"
)

// request is one transfer request of a processing run's preload.
type request struct {
	id       string
	from, to string
	cents    int64
	kind     kind
	repost   bool // the same body as an earlier request: nothing new must come of it
}

// workload is everything a processing run preloads, drawn from the seed
// alone, so that every system under test is given the same messages:
// a claim and a deposit for every account, then -n transfer requests,
// re-posts included.
//
// Every outcome is decided by the workload, not by the order in which the
// processors interleave partitions: each account's deposit covers
// everything it sends (an unknown recipient's debit included, until its
// refund), so every debit but an overdraft attempt is accepted whatever
// the order, and an overdraft attempt asks for more than all the money
// deposited plus the limit, which no account can ever have. So the model
// (expect) knows every outcome and every final balance.
type workload struct {
	names    []string    // every account signed up, in order
	claims   []uuid.UUID // the request ID of each one's claim
	limit    wallet.Money
	deposits []request // one per account, from World
	requests []request // the timed phase's, re-posts included

	distinct  int // requests that are not re-posts
	reposts   int
	kinds     map[kind]int // of the distinct requests
	baseCents int64        // the deposit of an account that needs no more
}

func newWorkload(cfg config, seed uint64, limit, maxAmount wallet.Money) (*workload, error) {
	// Set-up and transfers have random sources of their own, so that one
	// seed gives the same transfers whatever the set-up drew, and the
	// special kinds and re-posts a third one: with none of them
	// (-repost 0 -overdraft 0 -unknown 0 -withdraw 0) the transfers are
	// those of the runs before they existed.
	rng, trng, krng := rand.New(rand.NewPCG(seed, 2)), rand.New(rand.NewPCG(seed, 3)), rand.New(rand.NewPCG(seed, 4))
	names := newAccounts(cfg, trng)
	wl := &workload{limit: limit, kinds: map[kind]int{}, baseCents: depositCents(cfg)}
	for i := range cfg.accounts {
		wl.names = append(wl.names, names.name(i))
	}
	if cfg.hotShare > 0 {
		wl.names = append(wl.names, names.merchant())
	}
	for range wl.names {
		wl.claims = append(wl.claims, harness.RandomUUID(rng))
	}

	sends := map[string]int64{}
	var originals []int // indexes of the requests that are not re-posts
	for i := range cfg.n {
		if len(originals) > 0 && krng.IntN(100) < cfg.repost {
			r := wl.requests[originals[krng.IntN(len(originals))]]
			r.repost = true
			wl.requests = append(wl.requests, r)
			wl.reposts++
			continue
		}
		from, to := names.pair()
		r := request{from: from, to: to, cents: 1 + trng.Int64N(cfg.maxCents)}
		r.id = requestID(trng)
		switch k := krng.IntN(100); {
		case k < cfg.overdraft:
			r.kind = overdraft // its amount is set below, once the deposits are known
		case k < cfg.overdraft+cfg.unknown:
			r.kind, r.to = unknownTo, names.unknown(i)
		case k < cfg.overdraft+cfg.unknown+cfg.withdraw:
			r.kind, r.to = withdrawal, wallet.World
		}
		if r.kind != overdraft {
			sends[from] += r.cents
		}
		originals = append(originals, len(wl.requests))
		wl.requests = append(wl.requests, r)
		wl.kinds[r.kind]++
	}
	wl.distinct = len(originals)

	var total int64
	for _, name := range wl.names {
		d := request{id: requestID(rng), from: wallet.World, to: name, cents: max(wl.baseCents, sends[name])}
		wl.deposits = append(wl.deposits, d)
		total += d.cents
	}
	// More than any account can ever have: every cent deposited, and the
	// limit below zero.
	over := total + limit.Cents() + 1
	if over > maxAmount.Cents() {
		return nil, fmt.Errorf("workload: an overdraft attempt would be %s, above the largest amount %s: use fewer accounts or transfers", wallet.Cents(over), maxAmount)
	}
	for i := range wl.requests {
		if wl.requests[i].kind == overdraft {
			wl.requests[i].cents = over
		}
	}
	return wl, nil
}

// model is what a processing run must come to.
type model struct {
	// outcomes is the final outcome of every request ID, deposits
	// included ("completed", "rejected insufficient_funds").
	outcomes map[string]string
	// balances is the final balance of every account key that a
	// deposit or a transfer touches, World included, in cents; closed
	// lists the keys that were never signed up (unknown recipients),
	// which must end not open, with nothing.
	balances map[string]int64
	closed   map[string]bool
	// requests lists the request IDs of the timed phase, each once.
	requests []string
}

// expect returns the model of wl.
func (wl *workload) expect() (model, error) {
	m := model{outcomes: map[string]string{}, balances: map[string]int64{}, closed: map[string]bool{}}
	keys := map[string]string{}
	key := func(name string) (string, error) {
		if k, ok := keys[name]; ok {
			return k, nil
		}
		k, err := wallet.AccountKey(name)
		if err != nil {
			return "", fmt.Errorf("model: %w", err)
		}
		keys[name] = k
		return k, nil
	}
	move := func(from, to string, cents int64) error {
		f, err := key(from)
		if err != nil {
			return err
		}
		t, err := key(to)
		if err != nil {
			return err
		}
		m.balances[f] -= cents
		m.balances[t] += cents
		return nil
	}
	for _, d := range wl.deposits {
		m.outcomes[d.id] = string(wallet.Completed)
		if err := move(d.from, d.to, d.cents); err != nil {
			return m, err
		}
	}
	for _, r := range wl.requests {
		if r.repost {
			continue
		}
		m.requests = append(m.requests, r.id)
		switch r.kind {
		case overdraft:
			m.outcomes[r.id] = string(wallet.Rejected) + " " + wallet.ReasonInsufficientFunds
		case unknownTo:
			m.outcomes[r.id] = string(wallet.Rejected) + " " + wallet.ReasonAccountNotFound
			k, err := key(r.to)
			if err != nil {
				return m, err
			}
			m.closed[k] = true
		default:
			m.outcomes[r.id] = string(wallet.Completed)
			if err := move(r.from, r.to, r.cents); err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

// mix is the composition of the timed phase's requests, for the report.
type mix struct {
	Requests    int `json:"requests"` // -n: the distinct ones and the re-posts
	Distinct    int `json:"distinct"`
	Reposts     int `json:"reposts"`
	Overdrafts  int `json:"overdrafts"`  // expected: rejected insufficient_funds
	Unknown     int `json:"unknown_to"`  // to a name never signed up: rejected account_not_found
	Withdrawals int `json:"withdrawals"` // to World: completed
}

func (wl *workload) mix() mix {
	return mix{Requests: len(wl.requests), Distinct: wl.distinct, Reposts: wl.reposts,
		Overdrafts: wl.kinds[overdraft], Unknown: wl.kinds[unknownTo], Withdrawals: wl.kinds[withdrawal]}
}
