package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// streamsApplicationID is the Kafka Streams application's ID: its
// consumer group, and the prefix of its changelog topics.
const streamsApplicationID = "wallet-streams"

// streamsSystem is the wallet's three processors written for Kafka
// Streams (scripts/streams): one application, one consumer group reading
// the three input topics, RocksDB stores logged to changelog topics named
// after the application. It runs in a JVM started by a command
// (scripts/streams/run.sh) that must exec the JVM, so that the process
// started is the one whose CPU time is read.
type streamsSystem struct {
	command   string
	guarantee string
	brokers   []string
	stateDir  string
	log       string // the JVM's output, both phases
	kc        kafka.Config
	admin     sarama.ClusterAdmin
}

func newStreamsSystem(cfg config, kc kafka.Config, dir string) (*streamsSystem, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kafka streams: %w", err)
	}
	admin, err := sarama.NewClusterAdmin(kc.Brokers, kc.Sarama())
	if err != nil {
		return nil, fmt.Errorf("kafka streams: admin client: %w", err)
	}
	return &streamsSystem{command: cfg.streams, guarantee: cfg.guarantee, brokers: kc.Brokers,
		stateDir: filepath.Join(dir, "streams-state"), log: filepath.Join(dir, "streams.log"), kc: kc, admin: admin}, nil
}

func (s *streamsSystem) name() string { return "kafka-streams " + s.guarantee }

func (s *streamsSystem) close() {
	if err := s.admin.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "kafka streams: close the admin client: %v\n", err)
	}
}

// changelog is the topic Kafka Streams logs the store of processor to
// (scripts/streams, Decider.store).
func (s *streamsSystem) changelog(processor string) string {
	return streamsApplicationID + "-" + processor + "-table-changelog"
}

func (s *streamsSystem) start(ctx context.Context) (running, error) {
	log, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafka streams: log: %w", err)
	}
	// Not exec.CommandContext: that kills with SIGKILL, and a clean stop
	// (SIGTERM, which closes Kafka Streams) keeps the stores' checkpoints
	// for the next start.
	cmd := exec.Command(s.command, "-brokers", strings.Join(s.brokers, ","), "-guarantee", s.guarantee,
		"-state-dir", s.stateDir, "-application-id", streamsApplicationID)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("kafka streams: start %s: %w", s.command, err)
	}
	j := &jvm{cmd: cmd, log: s.log, failed: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		defer log.Close()
		j.err = cmd.Wait()
		if !j.stopping.Load() {
			j.failed <- fmt.Errorf("kafka streams exited: %v; the end of %s:\n%s", j.err, s.log, tail(s.log, 20))
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			j.stop()
		case <-j.done:
		}
	}()
	return j, nil
}

// lags returns the lag of the application's group on each partition of
// its three inputs. A transaction left open is not looked for: the run
// waits for every outcome first, and then the only work left, recording
// them, commits the transfer log's offsets with its writes.
func (s *streamsSystem) lags() ([]kafka.Lag, error) {
	inputs := []string{string(topology.SignupRequests), string(topology.TransferRequests), string(topology.Instructions)}
	parts := make([]int32, s.kc.Partitions)
	for p := range parts {
		parts[p] = int32(p)
	}
	want := map[string][]int32{}
	for _, t := range inputs {
		want[t] = parts
	}
	committed, err := s.admin.ListConsumerGroupOffsets(streamsApplicationID, want)
	if err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
		return nil, fmt.Errorf("offsets of group %s: %w", streamsApplicationID, err)
	}
	var lags []kafka.Lag
	for _, t := range inputs {
		for _, p := range parts {
			l := kafka.Lag{Group: goka.Group(streamsApplicationID), Topic: goka.Stream(t), Partition: p, Committed: -1}
			if committed != nil {
				if b := committed.GetBlock(t, p); b != nil {
					l.Committed = b.Offset
				}
			}
			if l.End, err = s.kc.CommittedEnd(t, p); err != nil {
				return nil, err
			}
			lags = append(lags, l)
		}
	}
	return lags, nil
}

func (s *streamsSystem) tables() tables {
	return tables{
		accounts:  s.changelog("accountant"),
		transfers: s.changelog("paymentd"),
		account:   streamsAccount,
		transfer:  streamsTransfer,
	}
}

// streamsAccount reads the accountant's store value (Accountant.Account):
// open (0 or 1), then the overdraft limit, the balance and the next
// offset, 8 bytes each, big-endian.
func streamsAccount(v []byte) (int64, bool, error) {
	if len(v) != 25 || v[0] > 1 {
		return 0, false, fmt.Errorf("kafka streams account: %d bytes, want 25 starting with 0 or 1", len(v))
	}
	return int64(binary.BigEndian.Uint64(v[9:17])), v[0] == 1, nil
}

// streamsTransfer reads the status and reason of paymentd's store value
// (Transfers.State): a status byte ('p', 'c', 'r') and a reason byte (0,
// 'f', 'n') first.
func streamsTransfer(_ string, v []byte) (string, error) {
	if len(v) < 2 {
		return "", fmt.Errorf("kafka streams transfer: %d bytes", len(v))
	}
	reasons := map[byte]string{0: "", 'f': "insufficient_funds", 'n': "account_not_found"}
	statuses := map[byte]string{'p': "pending", 'c': "completed", 'r': "rejected"}
	status, ok := statuses[v[0]]
	reason, ok2 := reasons[v[1]]
	if !ok || !ok2 {
		return "", fmt.Errorf("kafka streams transfer: status %q, reason %q", v[0], v[1])
	}
	return outcomeText(status, reason), nil
}

// jvm is a running Kafka Streams process.
type jvm struct {
	cmd      *exec.Cmd
	log      string
	failed   chan error
	done     chan struct{}
	err      error
	stopping atomic.Bool
}

func (j *jvm) failures() <-chan error { return j.failed }

// stop asks Kafka Streams to close (SIGTERM runs its shutdown hook) and
// waits a minute for it, then kills it.
func (j *jvm) stop() error {
	j.stopping.Store(true)
	select {
	case <-j.done:
		return nil // already gone: failures said so
	default:
	}
	if err := j.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kafka streams: stop: %w", err)
	}
	select {
	case <-j.done:
		return nil
	case <-time.After(time.Minute):
		_ = j.cmd.Process.Kill()
		<-j.done
		return fmt.Errorf("kafka streams did not stop within 1m of SIGTERM; killed. The end of %s:\n%s", j.log, tail(j.log, 20))
	}
}

// usage reads the JVM's CPU time and peak resident memory from /proc:
// the JVM started with the timed phase, so its CPU time is the phase's.
func (j *jvm) usage() (time.Duration, int64, error) {
	pid := j.cmd.Process.Pid
	cpu, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	rss, err := peakRSS(strconv.Itoa(pid))
	return cpu, rss, err
}

// tail returns the last n lines of file name, or why not.
func tail(name string, n int) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
