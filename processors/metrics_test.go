package processors_test

import (
	"maps"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wallet/wallet/processors"
	"github.com/wallet/wallet/topology"
)

// Every label combination the processors can count is a series from the
// start, so that increase() sees the first event. This checks that the
// series exist, whatever their values: the other tests of the package
// count into the same counters. run's TestMetricsFromTheFirstScrape checks
// them at zero, in a process of their own.
func TestMetricsExistFromTheStart(t *testing.T) {
	type series struct {
		name   string
		labels map[string]string
	}
	want := []series{
		{"wallet_signups_total", map[string]string{"outcome": "won", "decided_by": "group"}},
		{"wallet_signups_total", map[string]string{"outcome": "taken", "decided_by": "group"}},
		{"wallet_signups_total", map[string]string{"outcome": "taken", "decided_by": "view"}},
	}
	for _, o := range processors.FinalOutcomes {
		want = append(want, series{"wallet_transfers_total", map[string]string{"status": string(o.Status), "reason": o.Reason}})
	}
	for _, in := range topology.Inputs() {
		want = append(want, series{"wallet_dead_letters_total", map[string]string{"topic": string(in.Topic)}})
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		found := false
		for _, f := range families {
			if f.GetName() != w.name {
				continue
			}
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				found = found || maps.Equal(labels, w.labels)
			}
		}
		if !found {
			t.Errorf("no series %s with labels %v", w.name, w.labels)
		}
	}
}

// The label values of wallet_transfers_total are outcomes the accountant
// reports.
func TestFinalOutcomesAreOutcomes(t *testing.T) {
	for _, o := range processors.FinalOutcomes {
		o.RequestID = uuid.New()
		if err := o.Validate(); err != nil {
			t.Errorf("%s %q: %v", o.Status, o.Reason, err)
		}
	}
}
