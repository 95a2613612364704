package kafka_test

import (
	"os"
	"strings"
	"testing"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// The README lists exactly the ACL commands cmd/acls prints by default, so
// that the ones a user pastes are the ones the roles need.
func TestREADMEListsTheACLs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := strings.Join(kafka.ACLCommands("localhost:9092", "admin.properties", "wallet-"), "\n") + "\n"
	if !strings.Contains(string(readme), "```\n"+block+"```") {
		t.Errorf("README.md does not list the ACLs of `go run ./cmd/acls`; paste its output:\n%s", block)
	}
}

// Only the processors may write the instruction log and the tables; the
// API writes only the two request logs.
func TestOnlyProcessorsWriteInstructionsAndTables(t *testing.T) {
	writes := func(r kafka.Role) map[string]bool {
		w := map[string]bool{}
		for _, a := range kafka.ACLs(r) {
			if a.Operation == "Write" || a.Operation == "Create" {
				w[a.Name] = true
			}
		}
		return w
	}
	api := writes(kafka.API)
	if len(api) != 2 || !api[string(topology.SignupRequests)] || !api[string(topology.TransferRequests)] {
		t.Errorf("the API may write %v, want only the two request logs", api)
	}
	if len(writes(kafka.View)) != 0 {
		t.Errorf("the view may write %v", writes(kafka.View))
	}
	p := writes(kafka.Processor)
	for _, name := range []string{string(topology.Instructions), string(topology.AccountTable), string(topology.TransferTable), string(topology.SignupTable)} {
		if !p[name] {
			t.Errorf("the processors may not write %s", name)
		}
	}
}
