package kafka

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet/topology"
)

// Role is what a principal does in the wallet, for least-privilege ACLs:
// the broker, not the wallet's code, then holds the trust boundary of
// DESIGN.md (the edge writes only the two request logs; only processors
// write instructions and tables).
type Role string

// The roles, one principal each.
const (
	// Admin creates the topics (cmd/topics); no other role may.
	Admin Role = "admin"
	// API is the write side (cmd/emitter): it writes the two request
	// logs and reads the tables its views answer from.
	API Role = "api"
	// Processor runs the groups (cmd/processor).
	Processor Role = "processor"
	// View is the read side (cmd/view): it reads the tables.
	View Role = "view"
)

// Roles lists every role.
var Roles = []Role{Admin, API, Processor, View}

// Resource types of an ACL, as kafka-acls.sh names them.
const (
	TopicResource           = "topic"
	GroupResource           = "group"
	TransactionalIDResource = "transactional-id"
)

// ACL is one permission a role needs: an operation (Read, Write,
// Describe, Create) on a topic, a group or transactional IDs.
type ACL struct {
	Resource  string
	Name      string
	Operation string
	// Prefixed makes Name a prefix: the ACL covers every resource whose
	// name begins with it.
	Prefixed bool
}

// ACLs returns the permissions of a role, derived from the topology: a new
// group, input, output or table in topology/ is granted with no other
// edit. Every role may describe every topic and its configuration, which
// each command reads at start to check the partition counts (goka checks
// that tables are compacted). The processors may also write and describe
// the transactional IDs of their groups (each group's, with the
// partition after it: TransactionalIDPrefix).
func ACLs(r Role) []ACL {
	var acls []ACL
	add := func(resource, name string, ops ...string) {
		for _, op := range ops {
			a := ACL{Resource: resource, Name: name, Operation: op, Prefixed: resource == TransactionalIDResource}
			if !slices.Contains(acls, a) {
				acls = append(acls, a)
			}
		}
	}
	for _, t := range topology.Topics() {
		add(TopicResource, t.Name, "Describe", "DescribeConfigs")
	}
	switch r {
	case Admin:
		for _, t := range topology.Topics() {
			add(TopicResource, t.Name, "Create")
		}
	case API:
		for _, s := range []goka.Stream{topology.SignupRequests, topology.TransferRequests} {
			add(TopicResource, string(s), "Write")
		}
		for _, t := range []goka.Table{topology.SignupTable, topology.TransferTable} {
			add(TopicResource, string(t), "Read")
		}
	case Processor:
		for _, g := range topology.Graphs() {
			add(GroupResource, string(g.Group()), "Read")
			for _, e := range g.InputStreams() {
				add(TopicResource, e.Topic(), "Read")
			}
			for _, e := range g.OutputStreams() {
				add(TopicResource, e.Topic(), "Write")
			}
			add(TopicResource, g.GroupTable().Topic(), "Read", "Write")
			add(TransactionalIDResource, TransactionalIDPrefix(g.Group()), "Write", "Describe")
		}
	case View:
		for _, g := range topology.Graphs() {
			add(TopicResource, g.GroupTable().Topic(), "Read")
		}
	}
	return acls
}

// Principal is the principal of a role named with prefix, as Kafka writes
// it: User:wallet-processor for the prefix "wallet-".
func Principal(prefix string, r Role) string { return "User:" + prefix + string(r) }

// ACLCommands returns the kafka-acls.sh commands that grant every role its
// ACLs, one per principal and resource, for bootstrap and an admin's
// client properties in commandConfig.
func ACLCommands(bootstrap, commandConfig, prefix string) []string {
	var cmds []string
	for _, r := range Roles {
		type resource struct {
			kind, name string
			prefixed   bool
		}
		var order []resource
		ops := map[resource][]string{}
		for _, a := range ACLs(r) {
			res := resource{a.Resource, a.Name, a.Prefixed}
			if _, ok := ops[res]; !ok {
				order = append(order, res)
			}
			ops[res] = append(ops[res], a.Operation)
		}
		for _, res := range order {
			var b strings.Builder
			fmt.Fprintf(&b, "kafka-acls.sh --bootstrap-server %s --command-config %s --add --allow-principal %s", bootstrap, commandConfig, Principal(prefix, r))
			for _, op := range ops[res] {
				fmt.Fprintf(&b, " --operation %s", op)
			}
			fmt.Fprintf(&b, " --%s %s", res.kind, res.name)
			if res.prefixed {
				b.WriteString(" --resource-pattern-type prefixed")
			}
			cmds = append(cmds, b.String())
		}
	}
	return cmds
}
