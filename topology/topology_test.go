package topology_test

import (
	"testing"

	"github.com/wallet/wallet/topology"
)

// Every graph is valid, and the topics derived from the graphs are exactly
// their edges: each input, output and group table once, none besides.
func TestGraphsAreTheMap(t *testing.T) {
	edges := map[string]topology.Kind{}
	for _, g := range topology.Graphs() {
		if err := g.Validate(); err != nil {
			t.Errorf("group %s: %v", g.Group(), err)
		}
		for _, e := range append(g.InputStreams(), g.OutputStreams()...) {
			edges[e.Topic()] = topology.Stream
		}
		if tbl := g.GroupTable(); tbl != nil {
			edges[tbl.Topic()] = topology.Table
		}
	}
	created := map[string]topology.Kind{}
	for _, tp := range topology.Topics() {
		if _, dup := created[tp.Name]; dup {
			t.Errorf("topic %s is listed twice", tp.Name)
		}
		created[tp.Name] = tp.Kind
		if kind, ok := edges[tp.Name]; !ok || kind != tp.Kind {
			t.Errorf("topic %s (kind %d) is not an edge of the graphs", tp.Name, tp.Kind)
		}
	}
	for name, kind := range edges {
		if got, ok := created[name]; !ok || got != kind {
			t.Errorf("edge %s (kind %d) is not among the topics", name, kind)
		}
	}

}
