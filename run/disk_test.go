package run_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
	"github.com/wallet/wallet/topology"
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

// Issue 19: an operator who freed space while the processors stopped at
// the floor had that space counted as what the stop gave back, so they
// waited for more free space than the disk has (`consuming stopped until
// 422838272 are free` on a 400 MB disk) and never resumed. They must
// resume whenever the operator frees the space: before the groups have
// stopped, or within a second of their stop, before it is measured; and a
// second fill and free must do the same.
func TestDiskFloorLiftsWhenSpaceIsFreedQuickly(t *testing.T) {
	const floor = 48 << 20
	small := smallDisk(t, "400m")
	c := config(t, embeddedBroker(t), 2)
	c.State = filepath.Join(small, "processor")
	c.MinFree = floor
	ready, _ := start(t, c, run.Processors)
	probes := "http://" + <-ready
	cl := startAPIs(t, c)
	accounts := names("lift-", 2)
	signUp(t, cl, maxOverdraft, accounts...)
	var want ledger.Ledger
	send := func() {
		t.Helper()
		for i := range 5 {
			tr := wallet.Transfer{RequestID: uuid.New(), From: accounts[i%2], To: accounts[(i+1)%2], Amount: wallet.Cents(int64(100 + i))}
			if status, body := post(t, cl, tr); status != http.StatusCreated {
				t.Fatalf("POST = %d %s", status, body)
			}
			want.Apply(tr)
		}
		waitBalances(t, cl, &want, time.Minute)
	}
	send()
	size := diskSize(t, small)
	for _, when := range []struct {
		name string
		seen func(api.Readiness) bool
	}{
		{"before the groups stopped", func(r api.Readiness) bool { return strings.HasPrefix(r.Checks["processor disk"], "full: ") }},
		{"within a second of the stop", stoppedAtFloor},
	} {
		ok := t.Run("space freed "+when.name, func(t *testing.T) {
			free := fill(t, small, 44<<20)
			r := waitReadyz(t, probes, 30*time.Second, func(_ int, r api.Readiness) bool { return when.seen(r) })
			free()
			t.Logf("space freed with the groups %s", groupStates(r))
			waitReadyz(t, probes, 30*time.Second, func(code int, r api.Readiness) bool {
				checkNeed(t, r, size)
				return code == http.StatusOK
			})
			send()
		})
		if !ok {
			return
		}
	}
}

// The disk under the processors' state filled to 100% at once by another
// process, between two of the floor's checks: RocksDB can abort the
// process (Debian's build fails an assertion when the stop closes a table
// whose last write failed), and a supervisor starts it again on the disk
// still full. There it must wait at the floor, not open its tables and abort
// again; once space is freed, every transfer accepted meanwhile is applied
// once. The processors run in a process of their own, which the test
// starts again as a supervisor would (and kills, should RocksDB not have
// aborted it).
func TestDiskFilledAtOnce(t *testing.T) {
	small := smallDisk(t, "400m")
	c := config(t, embeddedBroker(t), 2)
	state := filepath.Join(small, "processor")
	const floor = 48 << 20
	first := startDiskProcess(t, c, state, floor)
	cl := startAPIs(t, c)
	accounts := names("full-", 4)
	signUp(t, cl, maxOverdraft, accounts...)
	tr := startTraffic(t, cl, accounts, maxOverdraft, 4, true)
	time.Sleep(2 * time.Second) // consuming

	fillers := []func(){fill(t, small, 0)}
	if err := first.stopsAtFloorOrExits(t, 30*time.Second); err != nil {
		t.Logf("the disk filled at once: the processors exited (%v)", err)
	} else {
		t.Logf("the disk filled at once: the processors stopped at the floor; killing them to start them again")
	}
	first.kill()
	// The space the dead process held is taken too: the disk stays full.
	if have, err := disk.Free(small); err != nil {
		t.Fatal(err)
	} else if have > 0 {
		fillers = append(fillers, fill(t, small, 0))
	}

	second := startDiskProcess(t, c, state, floor)
	if err := second.stopsAtFloorOrExits(t, 30*time.Second); err != nil {
		t.Fatalf("started again on a full disk, the processors exited (%v), want them waiting at the floor", err)
	}
	// Waiting, not crash-looping: still there a few seconds on.
	select {
	case err := <-second.exited:
		t.Fatalf("started again on a full disk, the processors exited (%v) after stopping at the floor", err)
	case <-time.After(3 * time.Second):
	}
	size := diskSize(t, small)
	checkNeed(t, second.readyz(t), size)

	for _, free := range fillers {
		free()
	}
	waitReadyz(t, second.probes, time.Minute, func(code int, r api.Readiness) bool {
		checkNeed(t, r, size)
		return code == http.StatusOK
	})
	want, sent := tr.end(&ledger.Ledger{})
	checkBooks(t, c, cl, want, sent...)
	t.Logf("%d transfers accepted, each applied once", len(sent))
}

// diskProcessEnv marks the test binary started as TestDiskFilledAtOnce's
// processors (TestDiskProcess), with cmd/processor's flags set from
// WALLET_ variables; diskAddrEnv names the file where it writes the
// address of its /readyz.
const (
	diskProcessEnv = "WALLET_RUN_TEST_DISK_PROCESS"
	diskAddrEnv    = "WALLET_RUN_TEST_DISK_ADDR"
)

// TestDiskProcess runs the processors as cmd/processor does, in the
// process TestDiskFilledAtOnce starts; the test does nothing otherwise.
// Not TestMain's processor: that one takes no -min-free and serves no
// /readyz but the default port's.
func TestDiskProcess(t *testing.T) {
	if os.Getenv(diskProcessEnv) == "" {
		t.Skip("the processors' process of TestDiskFilledAtOnce")
	}
	c := run.Defaults()
	fs := flag.NewFlagSet("processor", flag.ContinueOnError)
	c.BindKafka(fs, "brokers")
	c.BindState(fs, "")
	c.BindHTTP(fs, "")
	c.BindProcessor(fs)
	c.BindMinFree(fs)
	if err := run.ParseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	c.Ready = addr
	go func() {
		if err := os.WriteFile(os.Getenv(diskAddrEnv), []byte(<-addr), 0o644); err != nil {
			t.Error(err)
		}
	}()
	if err := run.Processors(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// diskProcess is a process of TestDiskProcess.
type diskProcess struct {
	cmd    *exec.Cmd
	probes string
	exited chan error
}

// startDiskProcess starts the processors in a process of their own on c's
// Kafka (without security: the test's own embedded broker) and
// partitions, with state and a floor of minFree, and returns once they
// serve /readyz. The process is killed when the test ends; its output
// goes to the test's log if the test fails.
func startDiskProcess(t *testing.T, c run.Config, state string, minFree uint64) *diskProcess {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "processor.log"))
	if err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskProcess$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WALLET_") { // make test-kafka's security
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, diskProcessEnv+"=1", diskAddrEnv+"="+addrFile,
		"WALLET_BROKERS="+strings.Join(c.Kafka.Brokers, ","),
		"WALLET_PARTITIONS="+strconv.Itoa(c.Kafka.Partitions),
		"WALLET_STATE="+state,
		"WALLET_HTTP=127.0.0.1:0",
		"WALLET_MIN_FREE="+strconv.FormatUint(minFree, 10),
		"WALLET_QUIET=true")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the processors' process: %v", err)
	}
	p := &diskProcess{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("processors' process %d:\n%s", cmd.Process.Pid, b)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if addr, err := os.ReadFile(addrFile); err == nil && len(addr) > 0 {
			p.probes = "http://" + string(addr)
			return p
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("the processors' process exited before serving /readyz: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the processors' process did not serve /readyz within 30s")
		}
	}
}

// kill kills the process, if it still runs, and waits for it.
func (p *diskProcess) kill() {
	p.cmd.Process.Kill()
	err := <-p.exited
	p.exited <- err
}

// stopsAtFloorOrExits waits until every group of the process has stopped
// at the floor (nil) or the process has exited (its error).
func (p *diskProcess) stopsAtFloorOrExits(t *testing.T, timeout time.Duration) error {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-p.exited:
			p.exited <- err
			return cmp.Or(err, errors.New("exit status 0"))
		default:
		}
		if r, ok := p.tryReadyz(); ok && stoppedAtFloor(r) {
			return nil
		}
	}
	t.Fatalf("the processors neither stopped at the floor nor exited within %s", timeout)
	return nil
}

// readyz returns the process's readiness.
func (p *diskProcess) readyz(t *testing.T) api.Readiness {
	t.Helper()
	return waitReadyz(t, p.probes, 10*time.Second, func(int, api.Readiness) bool { return true })
}

// tryReadyz returns the process's readiness, if it answers.
func (p *diskProcess) tryReadyz() (api.Readiness, bool) {
	resp, err := http.Get(p.probes + "/readyz")
	if err != nil {
		return api.Readiness{}, false
	}
	defer resp.Body.Close()
	var r api.Readiness
	return r, json.NewDecoder(resp.Body).Decode(&r) == nil
}

// stoppedAtFloor says whether r has every group stopped at the disk floor.
func stoppedAtFloor(r api.Readiness) bool {
	for _, g := range topology.Graphs() {
		if r.Checks["processor "+string(g.Group())] != "stopped: the disk is full" {
			return false
		}
	}
	return strings.HasPrefix(r.Checks["processor disk"], "full: ")
}

// groupStates describes the state of every group in r.
func groupStates(r api.Readiness) string {
	var states []string
	for _, g := range topology.Graphs() {
		states = append(states, string(g.Group())+" "+strconv.Quote(r.Checks["processor "+string(g.Group())]))
	}
	return strings.Join(states, ", ")
}

// needed matches the free space the processors wait for in their disk
// check.
var needed = regexp.MustCompile(`consuming stopped until (\d+) are free`)

// checkNeed fails the test if the processors' disk check in r waits for
// more free space than size, the most the disk can have.
func checkNeed(t *testing.T, r api.Readiness, size uint64) {
	t.Helper()
	m := needed.FindStringSubmatch(r.Checks["processor disk"])
	if m == nil {
		return
	}
	if n, _ := strconv.ParseUint(m[1], 10, 64); n > size {
		t.Fatalf("the processors wait for %d bytes free on a disk of %d: %s", n, size, r.Checks["processor disk"])
	}
}

// diskSize returns the most space the file system holding dir can have
// free.
func diskSize(t *testing.T, dir string) uint64 {
	t.Helper()
	s, err := disk.Measure(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s.Size
}
