package processors

import (
	"io"

	"github.com/lovoo/goka"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// Config is what a process configures all its groups with; each group
// takes the settings it uses.
type Config struct {
	// MaxAmount and MaxOverdraft are the largest transfer and overdraft
	// limit the API accepts (see Transfers, Signup and Accountant).
	MaxAmount, MaxOverdraft wallet.Money
	// Bounds refuse the inputs and table records that no processor or API
	// writes.
	Bounds Bounds
	// Out, if set, receives every group's lines.
	Out io.Writer
}

// Builder creates the processor of one group. opts must say how to reach
// Kafka and where to keep state (or goka.WithTester).
type Builder func(brokers []string, opts ...goka.ProcessorOption) (*goka.Processor, error)

// Groups returns the builder of each group, by name, configured from c:
// one for every graph of topology.Graphs and no other (a test checks it).
// Whatever runs the groups loops over topology.Graphs and builds each one
// from here, so a group added to the topology and here runs with no other
// edit.
func Groups(c Config) map[goka.Group]Builder {
	return map[goka.Group]Builder{
		topology.SignupGroup: func(brokers []string, opts ...goka.ProcessorOption) (*goka.Processor, error) {
			return NewSignup(brokers, Signup{MaxOverdraft: c.MaxOverdraft, Bounds: c.Bounds, Out: c.Out}, opts...)
		},
		topology.TransferGroup: func(brokers []string, opts ...goka.ProcessorOption) (*goka.Processor, error) {
			return NewTransfers(brokers, Transfers{MaxAmount: c.MaxAmount, Bounds: c.Bounds, Out: c.Out}, opts...)
		},
		topology.AccountantGroup: func(brokers []string, opts ...goka.ProcessorOption) (*goka.Processor, error) {
			return NewAccountant(brokers, Accountant{MaxAmount: c.MaxAmount, MaxOverdraft: c.MaxOverdraft, Bounds: c.Bounds, Out: c.Out}, opts...)
		},
	}
}
