package chaos

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

func TestSpellingsAreOneAccount(t *testing.T) {
	s := newSignups(rand.New(rand.NewPCG(1, 1)), []string{"acct-00042", "probe-from-3"}, func(string) wallet.Money { return wallet.Cents(1234) }, 3)
	for _, sn := range s.names {
		seen := map[string]bool{}
		ids := map[uuid.UUID]bool{}
		for _, c := range sn.claimants {
			key, err := c.claim.Validate(wallet.Money{})
			if want, _ := wallet.AccountKey(sn.name); err != nil || key != want {
				t.Errorf("claim %q: key %q, %v; want %q, the key of %q", c.claim.Username, key, err, want, sn.name)
			}
			seen[c.claim.Username], ids[c.claim.RequestID] = true, true
			if !c.claim.OverdraftLimit.Equal(wallet.Cents(1234)) {
				t.Errorf("claim %q: limit %s, want 12.34", c.claim.Username, c.claim.OverdraftLimit)
			}
		}
		if len(seen) != 3 || len(ids) != 3 {
			t.Errorf("%s: spellings %v, %d request IDs; want 3 of each", sn.name, seen, len(ids))
		}
	}
	if got := fullWidth("acct-00042"); got != "ａｃｃｔ-00042" {
		t.Errorf("fullWidth = %q", got)
	}
}

func TestCheckSignups(t *testing.T) {
	const name, upper, wide = "acct-00042", "ACCT-00042", "ａｃｃｔ-00042"
	won := func(account string) claimAnswer { return claimAnswer{status: 201, account: account} }
	taken := claimAnswer{status: 409, code: string(wallet.EUsernameTaken)}
	type claimCase struct {
		spelling string
		answers  []claimAnswer
	}
	for _, tc := range []struct {
		name      string
		claims    []claimCase
		found     bool
		shown     string
		owners    int
		taken     int
		violation string // a substring of the one violation; "" for none
	}{
		{"one owner", []claimCase{{name, []claimAnswer{won(name), won(name)}}, {upper, []claimAnswer{taken, taken}}, {wide, []claimAnswer{taken}}},
			true, name, 1, 2, ""},
		{"the full-width claim wins", []claimCase{{name, []claimAnswer{taken}}, {upper, []claimAnswer{taken}}, {wide, []claimAnswer{won(wide)}}},
			true, wide, 1, 2, ""},
		{"two owners", []claimCase{{name, []claimAnswer{won(name)}}, {upper, []claimAnswer{won(upper)}}, {wide, []claimAnswer{taken}}},
			true, name, 0, 1, "2 owners"},
		{"201 then 409", []claimCase{{name, []claimAnswer{won(name), taken}}, {upper, []claimAnswer{taken}}},
			true, name, 1, 1, "both 201 and 409"},
		{"409 then 201", []claimCase{{name, []claimAnswer{taken, won(name)}}, {upper, []claimAnswer{taken}}},
			true, name, 1, 1, "both 201 and 409"},
		{"no owner", []claimCase{{name, []claimAnswer{taken}}, {upper, []claimAnswer{taken}}},
			false, "", 0, 2, "no claim was answered 201"},
		{"201 with another spelling", []claimCase{{name, []claimAnswer{won(upper)}}, {upper, []claimAnswer{taken}}},
			true, name, 1, 1, "not its own spelling"},
		{"view shows another spelling", []claimCase{{name, []claimAnswer{won(name)}}, {upper, []claimAnswer{taken}}},
			true, upper, 1, 1, `shows the account as "ACCT-00042"`},
		{"view does not know the owner", []claimCase{{name, []claimAnswer{won(name)}}, {upper, []claimAnswer{taken}}},
			false, "", 1, 1, "404"},
		{"undecided claim", []claimCase{{name, []claimAnswer{won(name)}}, {upper, nil}},
			true, name, 1, 0, "never answered 201 or 409"},
		{"request ID conflict", []claimCase{{name, []claimAnswer{won(name)}}, {upper, []claimAnswer{{status: 409, code: string(wallet.ERequestIDConflict)}}}},
			true, name, 1, 0, "409 request_id_conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sn := &signupName{name: name, found: tc.found, shown: tc.shown}
			for _, c := range tc.claims {
				sn.claimants = append(sn.claimants, &claimant{claim: wallet.Claim{RequestID: uuid.New(), Username: c.spelling}, answers: c.answers})
			}
			r := checkSignups([]*signupName{sn})
			if r.Names != 1 || r.Claims != len(tc.claims) || r.Owners != tc.owners || r.Taken != tc.taken {
				t.Errorf("names %d claims %d owners %d taken %d, want 1 %d %d %d", r.Names, r.Claims, r.Owners, r.Taken, len(tc.claims), tc.owners, tc.taken)
			}
			switch {
			case tc.violation == "" && len(r.Violations) > 0:
				t.Errorf("violations %q, want none", r.Violations)
			case tc.violation != "" && (len(r.Violations) != 1 || !strings.Contains(r.Violations[0], tc.violation)):
				t.Errorf("violations %q, want one with %q", r.Violations, tc.violation)
			}
		})
	}
}
