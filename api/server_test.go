package api_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wallet/wallet/api"
)

func TestNewHTTPServerTimeouts(t *testing.T) {
	h := http.NotFoundHandler()
	srv := api.NewHTTPServer("127.0.0.1:8000", h)
	if srv.Addr != "127.0.0.1:8000" {
		t.Errorf("Addr = %q", srv.Addr)
	}
	if srv.Handler == nil {
		t.Error("Handler is nil")
	}
	for _, tt := range []struct {
		name string
		d    time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout},
		{"ReadTimeout", srv.ReadTimeout},
		{"WriteTimeout", srv.WriteTimeout},
		{"IdleTimeout", srv.IdleTimeout},
	} {
		if tt.d <= 0 {
			t.Errorf("%s = %v, want > 0", tt.name, tt.d)
		}
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout %v > ReadTimeout %v: the header timeout never fires", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
	// A POST waits up to DefaultSendTimeout for Kafka and then answers
	// 503; a shorter WriteTimeout would cut that answer off.
	if srv.WriteTimeout <= api.DefaultSendTimeout {
		t.Errorf("WriteTimeout %v <= DefaultSendTimeout %v: the 503 could not be written", srv.WriteTimeout, api.DefaultSendTimeout)
	}
}

// serveTCP serves h with api.NewHTTPServer on a real loopback listener
// until the test ends.
func serveTCP(t *testing.T, h http.Handler) (*http.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewHTTPServer(ln.Addr().String(), h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// TestNewHTTPServerDropsSlowloris sends request headers one byte every
// 100 ms and never finishes them: the server must hang up once
// ReadHeaderTimeout has passed (5 s), without answering.
func TestNewHTTPServerDropsSlowloris(t *testing.T) {
	t.Parallel()
	srv, addr := serveTCP(t, (&api.Server{Transfers: &fuzzSink{}}).Handler())
	limit := srv.ReadHeaderTimeout

	start := time.Now()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	type hangup struct {
		after time.Duration
		reply []byte
		err   error
	}
	closed := make(chan hangup, 1)
	go func() {
		reply, err := io.ReadAll(conn)
		closed <- hangup{time.Since(start), reply, err}
	}()

	header := "POST /api/v1/transfers HTTP/1.1\r\nHost: wallet\r\nContent-Type: application/json\r\nX-Slow: "
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit + time.Second)
	var got hangup
	for i := 0; ; i++ {
		select {
		case got = <-closed:
		case <-deadline:
			t.Fatalf("still connected after %v with ReadHeaderTimeout %v", time.Since(start), limit)
		case <-tick.C:
			b := byte('a')
			if i < len(header) {
				b = header[i]
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				// Hung up; the reader sees it too.
				got = <-closed
			} else {
				continue
			}
		}
		break
	}
	if got.after < limit-250*time.Millisecond {
		t.Errorf("hung up after %v, before ReadHeaderTimeout %v (read error %v)", got.after, limit, got.err)
	}
	if bytes.HasPrefix(got.reply, []byte("HTTP/1.1 2")) {
		t.Errorf("answered an unfinished request: %q", got.reply)
	}
	t.Logf("hung up after %v (ReadHeaderTimeout %v), reply %q, read error %v", got.after, limit, got.reply, got.err)
}

// TestBodyLimitOverTCP posts bodies on both sides of MaxBodyBytes through
// a real server, with a Content-Length and chunked.
func TestBodyLimitOverTCP(t *testing.T) {
	sink := &fuzzSink{}
	_, addr := serveTCP(t, fuzzServer(sink))
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	valid := `{"request_id":"` + fuzzPrimerID + `","from":"Alice","to":"Bob","amount":"0.5"}`
	created := `{"request_id":"` + fuzzPrimerID + `","from":"Alice","amount":"0.50","to":"Bob"}`
	tests := []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"64 KiB valid", padBody(valid, api.MaxBodyBytes), 201, created},
		{"64 KiB + 1 valid", padBody(valid, api.MaxBodyBytes+1), 413, `"code":"body_too_large"`},
		{"64 KiB garbage", bytes.Repeat([]byte("x"), api.MaxBodyBytes), 400, `"code":"invalid_json"`},
		{"1 MiB garbage", bytes.Repeat([]byte("x"), 1<<20), 413, `"code":"body_too_large"`},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			name := tt.name
			if chunked {
				name += " chunked"
			}
			t.Run(name, func(t *testing.T) {
				before := len(sink.transfers())
				var body io.Reader = bytes.NewReader(tt.body)
				if chunked {
					// Not a *bytes.Reader: the length is unknown, so the
					// transport sends the body chunked.
					body = io.MultiReader(body)
				}
				req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/transfers", body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer sender:Alice")
				if got := req.ContentLength; chunked != (got == 0) {
					t.Fatalf("ContentLength = %d", got)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(string(b)); resp.StatusCode != tt.status || !strings.Contains(got, tt.want) {
					t.Errorf("got %d %s, want %d %s", resp.StatusCode, got, tt.status, tt.want)
				}
				sent := len(sink.transfers()) - before
				if want := map[bool]int{true: 1, false: 0}[tt.status == 201]; sent != want {
					t.Errorf("sent %d transfers, want %d", sent, want)
				}
			})
		}
	}
}
