package harness

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wallet/wallet/api"
)

// NewClient returns a client of the wallet's API: the write side at url,
// the read side at view ("" for url), with the operator's key operator
// ("" for none). It keeps up to conns connections alive to each side,
// enough for every worker of a harness: a request that finds none idle
// opens a new one, and a million of them leave the ephemeral ports in
// TIME_WAIT. timeout bounds each request.
func NewClient(url, view, operator string, conns int, timeout time.Duration) *api.Client {
	tr := &http.Transport{
		Proxy:               nil, // the wallet, directly
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns, // two sides
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &api.Client{HTTPClient: &http.Client{Transport: tr, Timeout: timeout}, URL: url, ViewURL: view, Operator: operator}
}

// CountsText returns counts as "key: n" in the order of the keys, or
// "none": the unexpected answers of a run, in its report.
func CountsText(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
