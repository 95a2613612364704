package api

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/wallet/wallet"
)

// openAPI is the OpenAPI 3.1 document of the API, embedded so that the
// document a client reads is the file that openapi_test.go checks against
// these handlers.
//
//go:embed openapi.json
var openAPI []byte

// serveOpenAPI answers GET /api/v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use GET"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(openAPI); err != nil {
		slog.Debug("write response", "error", err)
	}
}
