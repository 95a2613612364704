// Package broker holds the embedded Kafka-protocol broker: kfake from
// franz-go, persisting to a data directory, listening on 127.0.0.1. It lets
// the wallet run on one machine with nothing to install; any Kafka client,
// kcat included, can talk to it. Options can secure it (SASL SCRAM
// principals for the roles, with the ACLs of kafka.ACLs); it refuses
// writes below a floor of free disk space, and expires the group members
// that stopped talking to it, as Kafka does.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet/disk"
	"github.com/wallet/wallet/kafka"
)

// Options tune the embedded broker.
type Options struct {
	// Fsync makes the broker fsync every batch to its data directory
	// before acknowledging it (kfake.SyncWrites), so that an acknowledged
	// write survives a power loss, not only the death of the process.
	// Writes that arrive together share their fsyncs (group commit,
	// third_party/kfake): no answer leaves the broker, to any client,
	// before every write made ahead of it is on disk, and the broker
	// keeps serving requests while the disk works. That holds for every
	// topic alike (the transfer requests, the instructions, the tables'
	// changelogs, transaction markers) and for the committed offsets and
	// producer IDs. Without it the log is in the page cache until the
	// next segment roll or a clean shutdown. Default true
	// (docs/BENCHMARKS.md says what it costs).
	Fsync bool
	// MinFree is the free space, in bytes, under the data directory below
	// which the broker refuses produce requests, until space is freed. 0 never refuses. Default disk.DefaultFloor.
	MinFree uint64
	// Users, when set, secures the broker: it takes SASL SCRAM-SHA-512
	// only, from a principal for each role given a password here
	// (wallet-api, wallet-processor, ...; PrincipalPrefix), and enforces
	// each role's ACLs (kafka.ACLs), as a real cluster should. Nil for
	// none, as `make run` has: the broker listens on 127.0.0.1 only.
	Users map[kafka.Role]string
}

// DefaultOptions returns the options of a broker started without flags.
func DefaultOptions() Options {
	return Options{Fsync: true, MinFree: disk.DefaultFloor}
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	stop    context.CancelFunc
}

// Start starts a one-node broker on addr (host:port; kfake binds
// 127.0.0.1) keeping its log in dataDir. Topics are not auto-created: the
// wallet creates its topics explicitly, since a topic created implicitly
// by a metadata request is lost if the broker is killed.
func Start(addr, dataDir string, o Options) (*Broker, error) {
	return start(addr, dataDir, o, disk.Free)
}

// start is Start measuring free space with free, which tests replace.
func start(addr, dataDir string, o Options, free func(dir string) (uint64, error)) (*Broker, error) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: port: %w", addr, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dataDir),
		kfake.WithLogger(logger{}),
	}
	if o.Fsync {
		opts = append(opts, kfake.SyncWrites())
	}
	var self []kgo.Opt
	if o.Users != nil {
		secure, auth, err := secured(o.Users)
		if err != nil {
			return nil, err
		}
		opts = append(opts, secure...)
		self = auth
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start broker on %s with data in %s: %w (is another broker running there?)", addr, dataDir, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if _, err := watchSessions(ctx, c, c.ListenAddrs()[0], self...); err != nil {
		stop()
		c.Close()
		return nil, err
	}
	if o.MinFree > 0 {
		guardFloor(ctx, c, dataDir, o.MinFree, free)
	}
	return &Broker{cluster: c, stop: stop}, nil
}

// Addr returns the address clients connect to.
func (b *Broker) Addr() string { return b.cluster.ListenAddrs()[0] }

// Close stops the broker, saving its state in order.
func (b *Broker) Close() {
	b.stop()
	b.cluster.Close()
}

// logger passes kfake's warnings and errors to slog.
type logger struct{}

func (logger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		slog.Error("broker: " + fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		slog.Warn("broker: " + fmt.Sprintf(msg, args...))
	}
}
