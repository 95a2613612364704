package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/codecs"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
	"github.com/wallet/wallet/topology"
)

// system is what a processing run times: the wallet's processors, or the
// same decisions made by Kafka Streams (-streams). Both read and write the
// wallet's topics in the wallet's formats, so one preload and one check
// serve both; they differ in how they run, how far behind they are, and
// how their tables are stored.
type system interface {
	// name says which system it is, for the report.
	name() string
	// start starts the system on its state, as the last stop left it.
	start(ctx context.Context) (running, error)
	// lags returns how far behind the system's consumer groups are on
	// their inputs.
	lags() ([]kafka.Lag, error)
	// tables says where the system keeps its accounts and transfers.
	tables() tables
	close()
}

// running is a started system.
type running interface {
	// failures receives an error if the system stops by itself.
	failures() <-chan error
	// stop stops the system and waits for it, keeping its state.
	stop() error
	// usage returns the CPU time the system has used since it started,
	// and its peak resident memory in bytes (0 if unknown).
	usage() (cpu time.Duration, peakRSS int64, err error)
}

// tables are the changelog topics of a system's account and transfer
// tables, and how to read their values.
type tables struct {
	accounts, transfers string
	// account returns the balance in cents of an account's value, and
	// whether the account is open.
	account func(value []byte) (cents int64, open bool, err error)
	// transfer returns the status of a transfer's value under its key
	// (the request ID), with its reason ("completed", "rejected
	// insufficient_funds").
	transfer func(key string, value []byte) (string, error)
}

// walletSystem is the wallet's processor groups, run in this process
// (run.Processors) against the run's broker.
type walletSystem struct {
	rc run.Config
}

func (walletSystem) name() string { return "wallet" }

func (s walletSystem) start(ctx context.Context) (running, error) {
	return startProcessors(ctx, s.rc), nil
}

func (s walletSystem) lags() ([]kafka.Lag, error) { return s.rc.Kafka.Lags() }

func (walletSystem) close() {}

func (walletSystem) tables() tables {
	return tables{
		accounts:  string(topology.AccountTable),
		transfers: string(topology.TransferTable),
		account: func(value []byte) (int64, bool, error) {
			v, err := topology.AccountCodec.Decode(value)
			if err != nil {
				return 0, false, err
			}
			a := v.(wallet.Account)
			return a.Balance.Cents(), a.Open, nil
		},
		transfer: func(key string, value []byte) (string, error) {
			v, err := topology.TransferStateCodec.Decode(value)
			if err != nil {
				return "", err
			}
			s, err := v.(codecs.StoredTransfer).For(key)
			if err != nil {
				return "", fmt.Errorf("the value %w", err)
			}
			return outcomeText(string(s.Status), s.Reason), nil
		},
	}
}

// processors are the wallet's processor groups running in this process.
type processors struct {
	cancel context.CancelFunc
	failed chan error // receives the error if they stop by themselves
	done   chan struct{}
	err    error
	cpu0   time.Duration // this process's CPU time when they started
}

func startProcessors(ctx context.Context, rc run.Config) *processors {
	ctx, cancel := context.WithCancel(ctx)
	p := &processors{cancel: cancel, failed: make(chan error, 1), done: make(chan struct{}), cpu0: cpuTime()}
	go func() {
		defer close(p.done)
		p.err = run.Processors(ctx, rc)
		if ctx.Err() == nil {
			if p.err == nil {
				p.err = errors.New("the processors returned")
			}
			p.failed <- p.err
		}
	}()
	return p
}

func (p *processors) failures() <-chan error { return p.failed }

func (p *processors) stop() error {
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-time.After(time.Minute):
		return errors.New("the processors did not stop within 1m")
	}
}

// usage is this process's: the processors, the harness's reading of the
// lag and the outcomes, and the broker when it is embedded.
func (p *processors) usage() (time.Duration, int64, error) {
	rss, err := peakRSS("self")
	return cpuTime() - p.cpu0, rss, err
}

// outcomeText is a status with its reason, as the report counts them.
func outcomeText(status, reason string) string {
	if reason == "" {
		return status
	}
	return status + " " + reason
}
