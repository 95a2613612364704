package run_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/disk"
	"github.com/wallet/wallet/internal/ledger"
	"github.com/wallet/wallet/run"
)

// smallDisk mounts a tmpfs of size bytes for the test, or skips it when
// this process may not mount (it is not root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (run as root to test the disk floor): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill allocates a file in dir that leaves free bytes free, and returns a
// function that deletes it.
func fill(t *testing.T, dir string, free uint64) func() {
	t.Helper()
	have, err := disk.Free(dir)
	if err != nil {
		t.Fatal(err)
	}
	if have <= free {
		t.Fatalf("only %d bytes free under %s, want more than %d", have, dir, free)
	}
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, int64(have-free)); err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
	return func() {
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
}

// Below the free-space floor of their state directory the processors stop
// consuming, say so in /readyz, and start again by themselves when space
// is back: no abort, the transfers accepted meanwhile applied once.
func TestProcessorsStopAtTheDiskFloor(t *testing.T) {
	const floor = 32 << 20
	small := smallDisk(t, "128m")
	brokers := brokers(t)
	c := config(t, brokers, 2)
	c.State = filepath.Join(small, "processor")
	c.MinFree = floor
	ready, _ := start(t, c, run.Processors)
	probes := "http://" + <-ready
	cl := startAPIs(t, c)
	names := []string{"floor-alice", "floor-bob"}
	signUp(t, cl, maxOverdraft, names...)
	var want ledger.Ledger
	send := func(n int) []wallet.Transfer {
		var sent []wallet.Transfer
		for i := range n {
			tr := wallet.Transfer{RequestID: uuid.New(), From: names[i%2], To: names[(i+1)%2], Amount: wallet.Cents(int64(100 + i))}
			if status, body := post(t, cl, tr); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(tr)
			sent = append(sent, tr)
		}
		return sent
	}
	send(10)
	waitBalances(t, cl, &want, time.Minute)

	free := fill(t, small, floor/2)
	waitReadyz(t, probes, 30*time.Second, func(code int, r api.Readiness) bool {
		return code == http.StatusServiceUnavailable && strings.HasPrefix(r.Checks["processor disk"], "full: ")
	})
	held := send(10)
	time.Sleep(3 * time.Second)
	for _, tr := range held {
		s, found, err := cl.Transfer(context.Background(), tr.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if found && s.Status != wallet.Pending {
			t.Fatalf("transfer %s is %s while the disk is full, want it pending", tr.RequestID, s.Status)
		}
	}

	free()
	waitReadiness(t, probes, http.StatusOK, time.Minute)
	waitBalances(t, cl, &want, time.Minute)
}
