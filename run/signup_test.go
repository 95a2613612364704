package run_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/run"
)

// TestContendedSignups: 60 clients claim 15 names at once, 4 clients per
// name with their own request IDs and two spellings of it, on 4
// partitions served by two processor instances. Each name gets exactly
// one owner: every 201 is the owner's, every other answer is 409
// username_taken, and both APIs show the owner's spelling, before and
// after a processor restarts.
func TestContendedSignups(t *testing.T) {
	brokers := brokers(t)
	partitions := 4
	if os.Getenv("KAFKA_BROKERS") != "" {
		// The real cluster of make test-kafka is shared by the tests,
		// whose topics it already holds with 2 partitions.
		partitions = 2
	}
	c := config(t, brokers, partitions)
	a, b := withState(t, c), withState(t, c)
	_, stopA := start(t, a, run.Processors)
	start(t, b, run.Processors)
	cl := startAPIs(t, c)

	type claimant struct {
		claim  wallet.Claim
		status int
		shown  string // the account in the 201 answer
	}
	prefix := "race-" + uuid.NewString()[:6] + "-"
	var claimants []*claimant
	for i := range 15 {
		name := fmt.Sprintf("%s%02d", prefix, i)
		spellings := []string{name, strings.ToUpper(name)}
		for j := range 4 {
			claimants = append(claimants, &claimant{claim: wallet.Claim{RequestID: uuid.New(), Username: spellings[j%2]}})
		}
	}
	var wg sync.WaitGroup
	for _, cm := range claimants {
		wg.Go(func() {
			// A 202 (no decision yet: the group is still being split
			// between the two instances) is posted again, as a client
			// would, with the same request ID.
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) {
				ans, err := cl.PostAccount(context.Background(), cm.claim)
				if err != nil || ans.Status == http.StatusAccepted || ans.Status == http.StatusServiceUnavailable {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				cm.status = ans.Status
				if ans.Status == http.StatusCreated {
					acct, _ := ans.Account()
					cm.shown = acct.Account
				} else if ans.Code() != wallet.EUsernameTaken {
					t.Errorf("claim of %s answered %d %s", cm.claim.Username, ans.Status, ans.Body)
				}
				return
			}
			t.Errorf("claim of %s undecided after 90s", cm.claim.Username)
		})
	}
	wg.Wait()

	owners := map[string]*claimant{}
	for _, cm := range claimants {
		key, _ := wallet.AccountKey(cm.claim.Username)
		if cm.status != http.StatusCreated {
			continue
		}
		if o, ok := owners[key]; ok {
			t.Errorf("%s has two owners: %s and %s", key, o.claim.RequestID, cm.claim.RequestID)
		}
		owners[key] = cm
		if cm.shown != cm.claim.Username {
			t.Errorf("the 201 to %s shows %q", cm.claim.Username, cm.shown)
		}
	}
	if len(owners) != 15 {
		t.Fatalf("%d names have an owner, want 15", len(owners))
	}

	// Both APIs agree on every owner, and again after an instance stops
	// and the other takes its partitions over.
	check := func(when string) {
		t.Helper()
		for key, o := range owners {
			// The read side's view follows the signup table on its own:
			// wait for it to run (503 until then) and have the name.
			deadline := time.Now().Add(30 * time.Second)
			acct, found, err := cl.Account(context.Background(), strings.ToUpper(key))
			for (err != nil || !found) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				acct, found, err = cl.Account(context.Background(), strings.ToUpper(key))
			}
			if err != nil || !found || acct.Account != o.claim.Username {
				t.Errorf("%s: the read side shows %s as %+v, %v, %v; want owner %q", when, key, acct, found, err, o.claim.Username)
			}
			// The write side answers the owner's re-post 201 and any
			// other claimant's 409, from the signup group's table.
			ans, err := cl.PostAccount(context.Background(), o.claim)
			if err != nil || ans.Status != http.StatusCreated {
				t.Errorf("%s: the owner's re-post of %s = %d %s %v", when, key, ans.Status, ans.Body, err)
			}
			ans, err = cl.PostAccount(context.Background(), wallet.Claim{RequestID: uuid.New(), Username: key})
			if err != nil || ans.Status != http.StatusConflict {
				t.Errorf("%s: a new claim of %s = %d %s %v", when, key, ans.Status, ans.Body, err)
			}
		}
	}
	check("before the restart")
	stopA()
	start(t, withState(t, c), run.Processors) // a fresh instance, its table rebuilt from the changelog
	check("after the restart")
	// A name never claimed is still free for the new instance to give.
	signUp(t, cl, wallet.Money{}, prefix+"free")
}
