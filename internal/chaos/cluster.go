package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wallet/wallet/api"
	"github.com/wallet/wallet/internal/harness"
	walletrun "github.com/wallet/wallet/run"
)

// binaries are the commands the harness runs, built from the module root.
var binaries = []string{"broker", "processor", "emitter", "view"}

// buildBinaries builds the commands into dir with one go build, run from
// the module root, and returns the source revision, if git knows it.
func buildBinaries(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	rev := "unknown"
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, b := range binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), root, err, out)
	}
	return rev, nil
}

// checkBinaries reports a missing command in dir.
func checkBinaries(dir string) error {
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("binary %s: %w (omit -bin to build it)", b, err)
		}
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root with go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the wallet module: run the harness from the repository")
	}
	return filepath.Dir(mod), nil
}

// workDir returns the work directory: dir, which must be empty or absent,
// or a fresh temporary one.
func workDir(dir string) (path string, created bool, err error) {
	if dir == "" {
		path, err := os.MkdirTemp("", "wallet-chaos-")
		if err != nil {
			return "", false, fmt.Errorf("create work directory: %w", err)
		}
		return path, true, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", false, fmt.Errorf("create work directory: %w", err)
		}
	case err != nil:
		return "", false, fmt.Errorf("read work directory: %w", err)
	case len(entries) > 0:
		return "", false, fmt.Errorf("work directory %s is not empty: balances left by an earlier run would fail the check", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, fmt.Errorf("work directory %s: %w", dir, err)
	}
	return abs, false, nil
}

// cluster is the wallet as processes: one broker, the processors, one
// emitter and one view, all supervised.
type cluster struct {
	broker     *process
	processors []*process
	emitter    *process
	view       *process

	brokerAddr string
	emitterURL string
	viewURL    string
	// processorURLs serve each processor's probes.
	processorURLs []string
	logs          string
	// operator is the operator's key, which the emitter and the view
	// read from the file the cluster writes.
	operator string

	wg sync.WaitGroup
}

// newCluster lays out the processes in work, with binaries in bin.
func newCluster(c config, work, bin string) (*cluster, error) {
	ports, err := harness.FreePorts(3 + c.Processors)
	if err != nil {
		return nil, err
	}
	logs := filepath.Join(work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	cl := &cluster{
		brokerAddr: addr(ports[0]),
		emitterURL: "http://" + addr(ports[1]),
		viewURL:    "http://" + addr(ports[2]),
		logs:       logs,
	}
	parts := strconv.Itoa(c.Partitions)
	mk := func(name, binName string, args ...string) *process {
		return newProcess(name, filepath.Join(bin, binName), filepath.Join(logs, name+".log"), c.RestartAfter, args...)
	}
	// The broker command has no -partitions flag: topics are created by
	// the other commands, which all get it.
	if c.Brokers != "" {
		cl.brokerAddr = c.Brokers
	} else {
		cl.broker = mk("broker", "broker", "-addr", cl.brokerAddr, "-data", filepath.Join(work, "broker"))
	}
	for i := range c.Processors {
		name := fmt.Sprintf("processor-%d", i)
		cl.processors = append(cl.processors, mk(name, "processor",
			"-brokers", cl.brokerAddr, "-partitions", parts, "-state", filepath.Join(work, name), "-http", addr(ports[3+i]), "-quiet"))
		cl.processorURLs = append(cl.processorURLs, "http://"+addr(ports[3+i]))
	}
	// The harness deposits, and reads every account, as the operator.
	operatorFile := filepath.Join(work, "operator.key")
	if cl.operator, err = walletrun.OperatorKeyFile(operatorFile); err != nil {
		return nil, err
	}
	// The emitter answers signups from its own copy of the signup table.
	cl.emitter = mk("emitter", "emitter", "-brokers", cl.brokerAddr, "-partitions", parts, "-http", addr(ports[1]), "-state", filepath.Join(work, "emitter"), "-operator-key-file", operatorFile)
	cl.view = mk("view", "view", "-brokers", cl.brokerAddr, "-partitions", parts, "-http", addr(ports[2]), "-state", filepath.Join(work, "view"), "-operator-key-file", operatorFile)
	return cl, nil
}

// all returns every process the harness runs; the broker is not one of
// them when Kafka is external.
func (cl *cluster) all() []*process {
	ps := append([]*process{cl.emitter, cl.view}, cl.processors...)
	if cl.broker != nil {
		ps = append([]*process{cl.broker}, ps...)
	}
	return ps
}

// start supervises every process until ctx is done. The broker comes
// first; the others exit while it is not listening yet and are restarted.
func (cl *cluster) start(ctx context.Context) error {
	if cl.broker != nil {
		cl.wg.Add(1)
		go func() { defer cl.wg.Done(); cl.broker.supervise(ctx) }()
	}
	listening := func(context.Context) error {
		conn, err := net.DialTimeout("tcp", cl.brokerAddr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	if err := harness.Poll(ctx, 30*time.Second, 100*time.Millisecond, listening); err != nil {
		return fmt.Errorf("broker at %s did not listen: %w", cl.brokerAddr, err)
	}
	for _, p := range append([]*process{cl.emitter, cl.view}, cl.processors...) {
		cl.wg.Add(1)
		go func() { defer cl.wg.Done(); p.supervise(ctx) }()
	}
	return nil
}

// wait returns once every supervisor has stopped its child.
func (cl *cluster) wait() { cl.wg.Wait() }

// ready waits until every process runs, the emitter answers /healthz and
// the view /readyz with 200.
func (cl *cluster) ready(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("not ready after %s", timeout))
	defer cancel()
	for _, p := range cl.all() {
		if err := p.waitUp(ctx); err != nil {
			return err
		}
	}
	probe := &api.Client{HTTPClient: &http.Client{Timeout: 2 * time.Second}, URL: cl.emitterURL, ViewURL: cl.viewURL}
	if err := harness.Poll(ctx, 0, 200*time.Millisecond, func(ctx context.Context) error { return probe.Health(ctx, api.WriteSide) }); err != nil {
		return fmt.Errorf("emitter (see %s): %w", cl.emitter.logPath, err)
	}
	if err := harness.Poll(ctx, 0, 200*time.Millisecond, func(ctx context.Context) error { return probe.Ready(ctx, api.ReadSide) }); err != nil {
		return fmt.Errorf("view (see %s): %w", cl.view.logPath, err)
	}
	return nil
}

// processorsNotReady returns, for each processor whose /readyz does not
// answer 200, its name and what it answered: which group is not
// processing, and why.
func (cl *cluster) processorsNotReady(ctx context.Context) []string {
	hc := &http.Client{Timeout: 2 * time.Second}
	var out []string
	for i, u := range cl.processorURLs {
		state, err := readyz(ctx, hc, u)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", cl.processors[i].name, err))
		} else if state != "" {
			out = append(out, fmt.Sprintf("%s: %s", cl.processors[i].name, state))
		}
	}
	return out
}

// readyz returns "" when base/readyz answers 200, else the answer.
func readyz(ctx context.Context, hc *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusOK {
		return "", nil
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))), nil
}

// exits returns how often processes exited on their own.
func (cl *cluster) exits() int {
	n := 0
	for _, p := range cl.all() {
		_, e, _ := p.counts()
		n += e
	}
	return n
}
