// Package broker holds the embedded Kafka-protocol broker: kfake from
// franz-go, persisting to a data directory, listening on 127.0.0.1. It lets
// the wallet run on one machine with nothing to install; any Kafka client,
// kcat included, can talk to it.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	stop    context.CancelFunc
}

// Start starts a one-node broker on addr (host:port; kfake binds
// 127.0.0.1) keeping its log in dataDir. Topics are not auto-created: the
// wallet creates its topics explicitly, since a topic created implicitly
// by a metadata request is lost if the broker is killed.
func Start(addr, dataDir string) (*Broker, error) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("broker address %q: port: %w", addr, err)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dataDir),
		kfake.WithLogger(logger{}),
	)
	if err != nil {
		return nil, fmt.Errorf("start broker on %s with data in %s: %w (is another broker running there?)", addr, dataDir, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if _, err := watchSessions(ctx, c, c.ListenAddrs()[0]); err != nil {
		stop()
		c.Close()
		return nil, err
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
