package broker

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// processEnv marks the test binary started as a broker: "address data-dir".
const processEnv = "WALLET_BROKER_TEST_PROCESS"

// TestMain runs the test binary as a broker when processEnv is set, so
// that a test can kill one with SIGKILL.
func TestMain(m *testing.M) {
	args := os.Getenv(processEnv)
	if args == "" {
		os.Exit(m.Run())
	}
	addr, dir, _ := strings.Cut(args, " ")
	b, err := Start(addr, dir, DefaultOptions())
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	<-ctx.Done()
	stop()
	b.Close()
	os.Exit(0)
}

// freeAddr returns an address on 127.0.0.1 that nothing listens on, for a
// broker process that must keep its address across restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// brokerProcess starts a broker in a process of its own on addr, keeping
// its log in dir, and waits until it answers.
func brokerProcess(t *testing.T, addr, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), processEnv+"="+addr+" "+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker process does not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A transaction open when the broker is killed is aborted when it starts
// again, with its ABORT markers written: read_committed readers never see
// its records, and see those of every later transaction of the same
// transactional ID (third_party/kfake: without the markers they took the
// producer's later transactions for aborted too, and a processor's
// partition received nothing more from it).
func TestRestartAbortsOpenTransactions(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	b := brokerProcess(t, addr, dir)
	c := kafka.Config{Brokers: []string{addr}, Partitions: 1}
	if err := c.EnsureTopics(); err != nil {
		t.Fatal(err)
	}
	topic := string(topology.Instructions)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	producer := func() *kgo.Client {
		p, err := c.KgoClient(kgo.DefaultProduceTopic(topic), kgo.TransactionalID("accountant-0"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	transaction := func(p *kgo.Client, value string, end bool) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if end {
			if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := producer()
	transaction(first, "committed", true)
	transaction(first, "open", false)

	if err := b.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.Wait()
	first.Close()
	brokerProcess(t, addr, dir)

	second := producer()
	defer second.Close()
	transaction(second, "after the crash", true)

	end, err := c.CommittedEnd(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := c.KgoClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var got []string
	for last := int64(-1); last < end-1; {
		fetches := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed: %q, and nothing at offset %d (the committed end) after a minute", got, end-1)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got = append(got, string(r.Value))
			last = r.Offset
		})
	}
	if strings.Join(got, ", ") != "committed, after the crash" {
		t.Errorf("read_committed: %q, want the committed records only", got)
	}
}
