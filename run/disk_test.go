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
	"github.com/wallet/wallet/broker"
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
	f, err := os.CreateTemp(dir, "filler-")
	if err != nil {
		t.Fatal(err)
	}
	name := f.Name()
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

// The processors and the embedded broker on one small disk: below the
// free-space floor the broker refuses writes (the API answers 503) and the
// processors stop consuming, saying so in /readyz, before RocksDB or the
// broker's log fail on a full disk; both start again by themselves when
// space is back. No abort, nothing lost, nothing applied twice: the
// transfers refused are posted again with the same request IDs.
func TestStopAtTheDiskFloor(t *testing.T) {
	const floor = 32 << 20
	small := smallDisk(t, "256m")
	o := broker.DefaultOptions()
	o.MinFree = floor
	b, err := broker.Start("127.0.0.1:0", filepath.Join(small, "broker"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := config(t, []string{b.Addr()}, 2)
	c.State = filepath.Join(small, "processor")
	c.MinFree = floor
	ready, _ := start(t, c, run.Processors)
	probes := "http://" + <-ready
	cl := startAPIs(t, c)
	names := []string{"floor-alice", "floor-bob"}
	signUp(t, cl, maxOverdraft, names...)
	var want ledger.Ledger
	transfer := func(i int) wallet.Transfer {
		return wallet.Transfer{RequestID: uuid.New(), From: names[i%2], To: names[(i+1)%2], Amount: wallet.Cents(int64(100 + i))}
	}
	for i := range 10 {
		tr := transfer(i)
		if status, body := post(t, cl, tr); status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		want.Apply(tr)
	}
	waitBalances(t, cl, &want, time.Minute)

	free := fill(t, small, floor/2)
	// Every group has stopped, not only seen the floor.
	waitReadyz(t, probes, 30*time.Second, func(code int, r api.Readiness) bool {
		for _, g := range []string{"signup", "paymentd", "accountant"} {
			if r.Checks["processor "+g] != "stopped: the disk is full" {
				return false
			}
		}
		return code == http.StatusServiceUnavailable && strings.HasPrefix(r.Checks["processor disk"], "full: ")
	})
	// Stopped, the processors gave back the space RocksDB had taken
	// ahead, which lifts the broker above its floor: fill that too.
	freeMore := fill(t, small, floor/2)
	time.Sleep(time.Second) // the broker measures every 250 ms
	var accepted, refused []wallet.Transfer
	for i := range 5 {
		tr := transfer(10 + i)
		switch status, body := post(t, cl, tr); status {
		case http.StatusCreated:
			accepted = append(accepted, tr)
		case http.StatusServiceUnavailable:
			refused = append(refused, tr)
		default:
			t.Fatalf("POST while the disk is full = %d %s", status, body)
		}
		want.Apply(tr)
	}
	if len(refused) == 0 {
		t.Errorf("the broker accepted every write below its floor")
	}
	time.Sleep(2 * time.Second)
	for _, tr := range accepted {
		s, found, err := cl.Transfer(context.Background(), tr.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if found && s.Status != wallet.Pending {
			t.Fatalf("transfer %s is %s while the disk is full, want it pending", tr.RequestID, s.Status)
		}
	}

	freeMore()
	free()
	waitReadiness(t, probes, http.StatusOK, time.Minute)
	for _, tr := range refused {
		if status, body := post(t, cl, tr); status != http.StatusCreated {
			t.Fatalf("POST again after space was freed = %d %s", status, body)
		}
	}
	waitBalances(t, cl, &want, time.Minute)
}
