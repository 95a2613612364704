package processors_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// Every graph of the topology has a builder, and nothing else has one:
// run loops over topology.Graphs and builds each group from Groups, so a
// graph without a builder would stop the processors from starting, and a
// builder without a graph would never run. Each builder builds its own
// group, wired as the topology's graph: the same topics with the same
// codecs.
func TestGroupsAreTheGraphs(t *testing.T) {
	groups := processors.Groups(processors.Config{Bounds: testerBounds(t, 1)})
	graphs := map[goka.Group]bool{}
	for _, g := range topology.Graphs() {
		graphs[g.Group()] = true
		t.Run(string(g.Group()), func(t *testing.T) {
			build, ok := groups[g.Group()]
			if !ok {
				t.Fatalf("group %s of topology.Graphs has no builder in processors.Groups", g.Group())
			}
			proc, err := build(nil, goka.WithTester(tester.New(t)))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := wiring(proc.Graph()), wiring(g); got != want {
				t.Errorf("built\n%s\nwant the topology's\n%s", got, want)
			}
		})
	}
	for group := range groups {
		if !graphs[group] {
			t.Errorf("processors.Groups builds %s, which is not in topology.Graphs", group)
		}
	}
}

// wiring describes a graph's group and edges, with their codecs.
func wiring(g *goka.GroupGraph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s\n", g.Group())
	for _, e := range g.InputStreams() {
		fmt.Fprintf(&b, "input %s %#v\n", e.Topic(), e.Codec())
	}
	for _, e := range g.OutputStreams() {
		fmt.Fprintf(&b, "output %s %#v\n", e.Topic(), e.Codec())
	}
	if e := g.GroupTable(); e != nil {
		fmt.Fprintf(&b, "table %s %#v\n", e.Topic(), e.Codec())
	}
	return b.String()
}

// Bounds that would check nothing are no setting: building a group from
// them fails, and a reader of a table built from them fails every read,
// rather than take a forged record for an honest one.
func TestBoundsAreRequired(t *testing.T) {
	end := func(goka.Stream, int32) (int64, error) { return 10, nil }
	value, err := topology.AccountCodec.Encode(wallet.Account{NextOffset: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]processors.Bounds{
		"none":          {},
		"no partitions": {End: end},
		"no end":        {Partitions: 1},
	} {
		t.Run(name, func(t *testing.T) {
			if b.Validate() == nil {
				t.Error("Validate accepted them")
			}
			for group, build := range processors.Groups(processors.Config{Bounds: b}) {
				if _, err := build(nil, goka.WithTester(tester.New(t))); err == nil {
					t.Errorf("%s built", group)
				}
			}
			err := b.ReadAccounts()(updateContext{topology.AccountTable, 0, 0}, storage.NewMemory(), "bob", value)
			if err == nil || !strings.Contains(err.Error(), "bounds:") {
				t.Errorf("read a record: %v, want the bounds refused", err)
			}
		})
	}
	if err := (processors.Bounds{Partitions: 1, End: end}).Validate(); err != nil {
		t.Errorf("one partition and an end: %v", err)
	}
}
