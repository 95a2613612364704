package broker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wallet/wallet/disk"
	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/topology"
)

// TestProduceRefusedBelowFloor: below the floor a write is refused with
// UNKNOWN_SERVER_ERROR, which reaches the wallet's producer as an error;
// once space is back, writes are accepted again without the broker being
// told anything. One line is logged each way.
func TestProduceRefusedBelowFloor(t *testing.T) {
	var logs lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	const floor = 256 << 20
	var free atomic.Uint64
	free.Store(floor - 1)
	b, err := start("127.0.0.1:0", t.TempDir(), Options{MinFree: floor}, func(string) (uint64, error) { return free.Load(), nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kc := kafka.Config{Brokers: []string{b.Addr()}}
	if err := kc.EnsureTopics(); err != nil {
		t.Fatal(err)
	}

	// The wallet's producer does not retry it: the write fails at once,
	// and the API answers 503.
	p := producer(t, kc)
	if _, _, err := p.SendMessage(message("refused")); !errors.Is(err, refused) {
		t.Fatalf("produce below the floor: error %v, want %v", err, refused)
	}
	free.Store(floor)
	partition, _ := sendUntilAccepted(t, p, "accepted")

	if got := values(t, kc, partition); strings.Join(got, ",") != "accepted" {
		t.Fatalf("log of partition %d is %q, want only the accepted write", partition, got)
	}
	below := strings.Count(logs.String(), "free space below the floor")
	above := strings.Count(logs.String(), "free space back above the floor")
	if below != 1 || above != 1 {
		t.Fatalf("logged %d lines crossing below the floor and %d back above, want 1 and 1:\n%s", below, above, logs.String())
	}
}

// lockedBuffer collects the log lines the broker's goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFullTmpfs fills a small file system until the broker's free space is
// below its floor, sees writes refused, removes the filler, and sees them
// accepted again. Every acknowledged write is read back after a restart.
func TestFullTmpfs(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a 64 MiB tmpfs on %s (needs root): %v: %s", mnt, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	dir := filepath.Join(mnt, "broker")
	const floor = 16 << 20
	o := Options{Fsync: true, MinFree: floor}
	b, err := Start("127.0.0.1:0", dir, o)
	if err != nil {
		t.Fatal(err)
	}
	kc := kafka.Config{Brokers: []string{b.Addr()}}
	if err := kc.EnsureTopics(); err != nil {
		b.Close()
		t.Fatal(err)
	}
	p := producer(t, kc)
	acked := map[int32][]string{}
	send := func(v string) error {
		partition, _, err := p.SendMessage(message(v))
		if err == nil {
			acked[partition] = append(acked[partition], v)
		}
		return err
	}
	if err := send("before"); err != nil {
		b.Close()
		t.Fatal(err)
	}

	filler := filepath.Join(mnt, "filler")
	free, err := disk.Free(mnt)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := os.WriteFile(filler, make([]byte, free-floor/2), 0o644); err != nil {
		b.Close()
		t.Fatalf("fill the tmpfs: %v", err)
	}
	// Writes are accepted until the broker next measures the free space.
	deadline := time.Now().Add(5 * time.Second)
	for err := send("filled"); !errors.Is(err, refused); err = send("filled") {
		if err != nil || time.Now().After(deadline) {
			b.Close()
			t.Fatalf("produce with the disk below the floor: error %v, want %v", err, refused)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := os.Remove(filler); err != nil {
		b.Close()
		t.Fatal(err)
	}
	partition, _ := sendUntilAccepted(t, p, "after")
	acked[partition] = append(acked[partition], "after")
	addr := b.Addr()
	b.Close()

	b, err = Start(addr, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kc = kafka.Config{Brokers: []string{b.Addr()}}
	var got, want []string
	for partition, vs := range acked {
		want = append(want, vs...)
		got = append(got, values(t, kc, partition)...)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after a restart the log holds %q, want every acknowledged write and nothing else: %q", got, want)
	}
}

// refused is the error a write refused below the floor reaches sarama as.
var refused = sarama.ErrUnknown

// producer returns a producer with the wallet's settings, as the API's.
func producer(t *testing.T, kc kafka.Config) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer(kc.Brokers, kc.Sarama())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// sendUntilAccepted sends a write until it is accepted: the broker sees
// freed space within checkFreeEvery.
func sendUntilAccepted(t *testing.T, p sarama.SyncProducer, value string) (int32, int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		partition, offset, err := p.SendMessage(message(value))
		if err == nil {
			return partition, offset
		}
		if !errors.Is(err, refused) || time.Now().After(deadline) {
			t.Fatalf("produce after space was freed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func message(value string) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{Topic: string(topology.TransferRequests), Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder(value)}
}

// values returns the values of a partition.
func values(t *testing.T, kc kafka.Config, partition int32) []string {
	t.Helper()
	var vs []string
	err := kc.ReadPartition(string(topology.TransferRequests), partition, 10*time.Second, func(msg *sarama.ConsumerMessage) {
		vs = append(vs, string(msg.Value))
	})
	if err != nil {
		t.Fatal(fmt.Errorf("read partition %d: %w", partition, err))
	}
	return vs
}
