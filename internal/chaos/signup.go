package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
)

// A name's claimants spell it differently, one spelling each in turn:
// as the journal has it, in capitals, and in full-width letters. PRECIS
// UsernameCaseMapped maps all three to one account key, so the claims
// contend for one account, in one partition of wallet.signup_request.
var spellings = []func(string) string{
	func(s string) string { return s },
	strings.ToUpper,
	fullWidth,
}

// fullWidth returns s with its ASCII letters replaced by their full-width
// forms (U+FF21..U+FF5A): "acct-00042" becomes "ａｃｃｔ-00042".
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'ａ'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'Ａ'
		}
		return r
	}, s)
}

// claimAnswer is one answer to a claimant's POST /api/v1/accounts that
// ended its retries: 201, 409, or anything else but 202 and 5xx (which
// are retried).
type claimAnswer struct {
	status  int
	code    string // the error code; "" for a 201
	account string // of a 201: the body's "account", the display name
}

func (a claimAnswer) String() string {
	if a.status == http.StatusCreated {
		return fmt.Sprintf("201 %q", a.account)
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

// claimant is one of the concurrent claims of a name.
type claimant struct {
	claim   wallet.Claim
	answers []claimAnswer // every answer that ended a round of retries, in order
}

// signupName is one account name of the run, the claims made of it, and
// what the view showed of it at the end.
type signupName struct {
	name      string // as the journal names it
	claimants []*claimant
	found     bool         // GET /api/v1/accounts/{name} answered 200
	shown     string       // the "account" it showed: the owner's display name
	limit     wallet.Money // the overdraft limit it showed
}

// signups is the signup phase of a run: every account name claimed by
// several claimants at once.
type signups struct {
	names []*signupName

	decided atomic.Int64 // names whose claims have all ended
	counts  harness.Counts
}

// newSignups makes perName claims of every name, spelled in turn as in
// spellings, all with the name's overdraft limit, with request IDs and the
// order in which they are posted drawn from rng.
func newSignups(rng *rand.Rand, names []string, limit func(string) wallet.Money, perName int) *signups {
	s := &signups{}
	for _, name := range names {
		sn := &signupName{name: name}
		for k := range perName {
			sn.claimants = append(sn.claimants, &claimant{claim: wallet.Claim{
				RequestID: harness.RandomUUID(rng), Username: spellings[k%len(spellings)](name), OverdraftLimit: limit(name),
			}})
		}
		rng.Shuffle(len(sn.claimants), func(i, j int) { sn.claimants[i], sn.claimants[j] = sn.claimants[j], sn.claimants[i] })
		s.names = append(s.names, sn)
	}
	return s
}

// claimAll posts every claim until each has a final answer (201 or 409)
// or wait has passed: conc names at a time, the claims of a name all at
// once. A claim answered 202 (not decided within the emitter's timeout),
// 5xx or not at all is posted again with the same request ID.
func (s *signups) claimAll(ctx context.Context, cl *client, conc int, wait time.Duration) {
	claims := cl.api.WithRetry(&api.Retry{For: wait, Pending: true, OnAnswer: s.counts.Count})
	harness.ForEach(ctx, len(s.names), conc, func(i int) {
		var wg sync.WaitGroup
		for _, c := range s.names[i].claimants {
			wg.Go(func() { s.claim(ctx, claims, c) })
		}
		wg.Wait()
		s.decided.Add(1)
	})
}

// claim posts c's claim with cl, which retries it, and appends the
// answer that ended the retries to c.answers: none when it was still
// undecided.
func (s *signups) claim(ctx context.Context, cl *api.Client, c *claimant) {
	a, err := cl.PostAccount(ctx, c.claim)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil, a.Status == http.StatusAccepted, a.Status >= 500:
		slog.Warn("claim undecided: no 201 or 409 before the deadline", "request_id", c.claim.RequestID, "username", c.claim.Username)
		return
	}
	ans := claimAnswer{status: a.Status, code: a.Code()}
	if a.Status == http.StatusCreated {
		acct, err := a.Account()
		if err != nil {
			ans.code = "undecodable: " + err.Error()
		}
		ans.account = acct.Account
	}
	c.answers = append(c.answers, ans)
}

// readShown reads every name's display name from the view.
func (s *signups) readShown(ctx context.Context, cl *client, conc int) error {
	errs := make([]error, len(s.names))
	harness.ForEach(ctx, len(s.names), conc, func(i int) {
		sn := s.names[i]
		acct, found, err := cl.api.Account(ctx, sn.name)
		if err != nil {
			errs[i] = err
			return
		}
		sn.found, sn.shown = found, acct.Account
		if acct.OverdraftLimit != nil {
			sn.limit = *acct.OverdraftLimit
		}
	})
	for _, err := range errs {
		if err != nil {
			return err // the first
		}
	}
	return ctx.Err()
}

// signupResult is the verdict on the signups.
type signupResult struct {
	Names      int      `json:"names"`
	Claims     int      `json:"claims"`
	Owners     int      `json:"owners"`     // names with exactly one claimant answered 201
	Taken      int      `json:"taken"`      // claims answered 409 username_taken, and never 201
	Undecided  int      `json:"undecided"`  // claims never answered 201 or 409
	Violations []string `json:"violations"` // each a broken rule, naming the name and claims
}

// checkSignups checks that each name has exactly one owner: one of its
// claimants, and only one, was ever answered 201, always with its own
// spelling as the account, and never 409 (nor a taken one 201); and that
// the view shows the owner's spelling as the account's display name.
// Every claim must have been answered 201 or 409 username_taken.
func checkSignups(names []*signupName) signupResult {
	r := signupResult{Names: len(names)}
	bad := func(sn *signupName, format string, args ...any) {
		r.Violations = append(r.Violations, sn.name+": "+fmt.Sprintf(format, args...))
	}
	for _, sn := range names {
		var owners []*claimant
		for _, c := range sn.claimants {
			r.Claims++
			var won, taken bool
			for _, a := range c.answers {
				switch {
				case a.status == http.StatusCreated && a.code == "":
					won = true
					if a.account != c.claim.Username {
						bad(sn, "claim %s (%q) answered 201 with account %q, not its own spelling", c.claim.RequestID, c.claim.Username, a.account)
					}
				case a.status == http.StatusConflict && a.code == string(wallet.EUsernameTaken):
					taken = true
				default:
					bad(sn, "claim %s (%q) answered %s", c.claim.RequestID, c.claim.Username, a)
				}
			}
			switch {
			case won && taken:
				bad(sn, "claim %s (%q) answered both 201 and 409: %v", c.claim.RequestID, c.claim.Username, c.answers)
				owners = append(owners, c) // it was answered 201
			case won:
				owners = append(owners, c)
			case taken:
				r.Taken++
			case len(c.answers) == 0:
				r.Undecided++
				bad(sn, "claim %s (%q) never answered 201 or 409", c.claim.RequestID, c.claim.Username)
			}
		}
		switch len(owners) {
		case 1:
			r.Owners++
			owner := owners[0].claim.Username
			switch {
			case !sn.found:
				bad(sn, "owned by %s (%q), but the view answers 404", owners[0].claim.RequestID, owner)
			case sn.shown != owner:
				bad(sn, "owned by %s (%q), but the view shows the account as %q", owners[0].claim.RequestID, owner, sn.shown)
			case !sn.limit.Equal(owners[0].claim.OverdraftLimit):
				bad(sn, "owned by %s with overdraft limit %s, but the view shows %s", owners[0].claim.RequestID, owners[0].claim.OverdraftLimit, sn.limit)
			}
		case 0:
			if !anyUndecided(sn) { // an undecided claim is reported already
				bad(sn, "no claim was answered 201")
			}
		default:
			var ids []string
			for _, c := range owners {
				ids = append(ids, fmt.Sprintf("%s (%q)", c.claim.RequestID, c.claim.Username))
			}
			bad(sn, "%d owners: %s were all answered 201", len(owners), strings.Join(ids, ", "))
		}
	}
	return r
}

func anyUndecided(sn *signupName) bool {
	for _, c := range sn.claimants {
		if len(c.answers) == 0 {
			return true
		}
	}
	return false
}

// signupKills is how many processors are killed during the signups.
const signupKills = 3

// signupSummary is the signup phase in the summary.
type signupSummary struct {
	signupResult
	checked    bool    // signupResult is set
	Kills      int     `json:"processor_kills"` // during the signup phase
	Posts      int64   `json:"posts"`
	Pending    int64   `json:"answers_202"`
	Unavail    int64   `json:"answers_503"`
	ConnErrors int64   `json:"connection_errors"`
	Seconds    float64 `json:"seconds"` // of the signup phase
}

// fill copies the counters of the posts.
func (s *signupSummary) fill(ss *signups) {
	s.Posts, s.Pending = ss.counts.Posts.Load(), ss.counts.Pending.Load()
	s.Unavail, s.ConnErrors = ss.counts.Unavailable.Load(), ss.counts.ConnErrors.Load()
}

func (s *signupSummary) String() string {
	verdict := "not checked"
	if s.checked {
		verdict = fmt.Sprintf("%d names, %d claims, %d owners, %d taken, %d violations", s.Names, s.Claims, s.Owners, s.Taken, len(s.Violations))
	}
	return fmt.Sprintf("signups: %s (phase %.1fs with %d processor kills; %d posts, %d answered 202, %d 5xx, %d connection errors)",
		verdict, s.Seconds, s.Kills, s.Posts, s.Pending, s.Unavail, s.ConnErrors)
}

// reportViolations logs the first violations and writes all of them to
// path.
func reportViolations(violations []string, path string) {
	for i, v := range violations {
		if i == 20 {
			break
		}
		slog.Error("signup violation", "violation", v)
	}
	if len(violations) > 0 {
		if err := os.WriteFile(path, []byte(strings.Join(violations, "\n")+"\n"), 0o644); err != nil {
			slog.Error("write signup violations", "path", path, "error", err)
		}
	}
}

// issueMissingKeys has the operator issue a key to every signed-up name
// whose key the client does not hold (harness.IssueMissingKey says why),
// posting each request again after a 5xx or no answer for up to wait.
// Its answers are not the transfers': a 404 (no claim of the name won)
// is the signup check's to report.
func (s *signups) issueMissingKeys(ctx context.Context, cl *client, wait time.Duration) {
	keys := cl.api.WithRetry(&api.Retry{For: wait})
	issued := 0
	for _, sn := range s.names {
		ok, err := harness.IssueMissingKey(ctx, keys, sn.name)
		if err != nil {
			slog.Warn("no key issued to a signed-up name", "username", sn.name, "error", err)
		}
		if ok {
			issued++
		}
	}
	slog.Info("keys issued by the operator to names whose signup answer had none", "names", issued)
}
