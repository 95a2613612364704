package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	"github.com/wallet/wallet/run"
)

// embedded is the whole wallet running in this process.
type embedded struct {
	url     string   // base URL of both APIs
	brokers []string // the embedded broker
	// operator is the operator's key, in the data directory.
	operator string
	cancel   context.CancelFunc
	done     chan error
	cleanup  func()
}

// startEmbedded starts the broker, the processors and both APIs in-process
// on free ports, with their data in dir (a temporary directory if empty),
// and returns once the view is ready.
func startEmbedded(ctx context.Context, c config) (*embedded, error) {
	dir, cleanup, err := dataDir(c.keepData, "loadgen-")
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	brokerAddr, err := freeAddr()
	if err != nil {
		cleanup()
		return nil, err
	}
	cfg := run.Defaults()
	cfg.Kafka.Brokers = []string{brokerAddr}
	cfg.Kafka.Partitions = c.partitions
	cfg.Broker.Fsync = c.fsync
	cfg.CommitInterval = c.commitInterval
	cfg.HTTP = "127.0.0.1:0"
	cfg.State = filepath.Join(dir, "state")
	cfg.Out = nil
	if cfg.OperatorKey, err = run.OperatorKeyFile(filepath.Join(dir, "operator.key")); err != nil {
		cleanup()
		return nil, err
	}
	ready := make(chan string, 1)
	cfg.Ready = ready

	runCtx, cancel := context.WithCancel(ctx)
	e := &embedded{brokers: cfg.Kafka.Brokers, operator: cfg.OperatorKey, cancel: cancel, done: make(chan error, 1), cleanup: cleanup}
	go func() { e.done <- run.All(runCtx, cfg, filepath.Join(dir, "broker")) }()

	select {
	case addr := <-ready:
		e.url = "http://" + addr
	case err := <-e.done:
		cancel()
		cleanup()
		return nil, fmt.Errorf("embedded wallet: %w", err)
	case <-time.After(2 * time.Minute):
		e.stop()
		return nil, errors.New("embedded wallet: HTTP did not start within 2m")
	}
	if err := waitReady(ctx, e.url, 2*time.Minute); err != nil {
		e.stop()
		return nil, err
	}
	slog.Info("embedded wallet ready", "http", e.url, "broker", brokerAddr, "data", dir, "partitions", c.partitions)
	return e, nil
}

// stop shuts the system down and removes its temporary data.
func (e *embedded) stop() {
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			slog.Warn("embedded wallet stopped with an error", "error", err)
		}
	case <-time.After(30 * time.Second):
		slog.Warn("embedded wallet did not stop within 30s")
	}
	e.cleanup()
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	ports, err := harness.FreePorts(1)
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(ports[0]), nil
}

// waitReady polls base/readyz until it answers 200.
func waitReady(ctx context.Context, base string, limit time.Duration) error {
	cl := &api.Client{HTTPClient: &http.Client{Timeout: 2 * time.Second}, URL: base}
	ready := func(ctx context.Context) error { return cl.Ready(ctx, api.ReadSide) }
	if err := harness.Poll(ctx, limit, 100*time.Millisecond, ready); err != nil {
		return fmt.Errorf("%s/readyz: %w", base, err)
	}
	return nil
}
