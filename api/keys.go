package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wallet/wallet"
)

// KeyChanges stores changes of accounts' API keys.
type KeyChanges interface {
	// SendKeyChange returns once Kafka has acknowledged the change, or an
	// error.
	SendKeyChange(ctx context.Context, k wallet.KeyChange) error
}

// KeyResponse describes one of an account's API keys: its ID, the
// request that issued it, and, in the 201 to that request only, the key.
type KeyResponse struct {
	ID        string    `json:"id"`
	RequestID uuid.UUID `json:"request_id"`
	APIKey    string    `json:"api_key,omitempty"`
}

// KeysResponse is the body of GET /api/v1/accounts/{name}/keys.
type KeysResponse struct {
	Keys []KeyResponse `json:"keys"`
}

// keyBody is the body of POST /api/v1/accounts/{name}/keys.
type keyBody struct {
	RequestID *string `json:"request_id"`
	// Replaces is the ID of a key to revoke in the same decision.
	Replaces string `json:"replaces"`
}

// keyAccount authenticates a call on an account's keys, which its owner
// and the operator may make, and returns the account's key and signup; it
// answers the error itself and returns ok false.
func (s *Server) keyAccount(w http.ResponseWriter, r *http.Request) (key string, signup wallet.Signup, ok bool) {
	who, ok := s.authenticate(w, r)
	if !ok {
		return "", wallet.Signup{}, false
	}
	key, err := wallet.AccountKey(r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return "", wallet.Signup{}, false
	}
	if !who.may(key, true) {
		forbid(w, "only the account's owner or the operator may manage its keys")
		return "", wallet.Signup{}, false
	}
	signup, found, err := s.Signups.Signup(key)
	switch {
	case err != nil:
		slog.Warn("read signup", "account", key, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "accounts are not available yet; retry shortly"))
		return "", wallet.Signup{}, false
	case !found:
		writeError(w, wallet.Errorf(wallet.EAccountNotFound, "account not found"))
		return "", wallet.Signup{}, false
	}
	return key, signup, true
}

// keys serves /api/v1/accounts/{name}/keys: GET lists the account's keys,
// POST issues one.
func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		_, signup, ok := s.keyAccount(w, r)
		if !ok {
			return
		}
		resp := KeysResponse{Keys: []KeyResponse{}}
		for _, k := range signup.Keys {
			resp.Keys = append(resp.Keys, KeyResponse{ID: k.Hash.ID(), RequestID: k.RequestID})
		}
		writeJSON(w, http.StatusOK, resp)
	case http.MethodPost:
		s.postKey(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use GET or POST"))
	}
}

// postKey issues the account a new key, revoking the key it replaces, if
// any, in the same decision. As at signup, the key is made here, only its
// hash is written, and only the request whose hash the signup group
// stored answers with the key: a re-post of the request ID answers 200
// with the key's ID alone.
func (s *Server) postKey(w http.ResponseWriter, r *http.Request) {
	key, signup, ok := s.keyAccount(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req keyBody
	if err := decodeBody(body, &req); err != nil {
		writeError(w, err)
		return
	}
	var id uuid.UUID
	if req.RequestID != nil {
		id, _ = uuid.Parse(strings.TrimSpace(*req.RequestID))
	}
	if id == uuid.Nil {
		writeError(w, wallet.Errorf(wallet.ERequestIDInvalid, "request ID must be a valid UUID"))
		return
	}
	if k, ok := signup.Issued(id); ok {
		writeJSON(w, http.StatusOK, KeyResponse{ID: k.Hash.ID(), RequestID: id})
		return
	}
	if req.Replaces != "" && !holds(signup, req.Replaces) {
		writeError(w, wallet.Errorf(wallet.EKeyNotFound, "account %q holds no key %q", signup.Username, req.Replaces))
		return
	}
	if req.Replaces == "" && len(signup.Keys) >= wallet.MaxKeys {
		writeError(w, wallet.Errorf(wallet.ETooManyKeys, "the account holds %d API keys, the most it may: replace or revoke one", len(signup.Keys)))
		return
	}
	apiKey, hash, err := wallet.NewKey(key)
	if err != nil {
		writeError(w, fmt.Errorf("make an API key: %w", err))
		return
	}
	change := wallet.KeyChange{RequestID: id, Account: key, Issue: &hash, Revoke: req.Replaces}
	if !s.sendKeyChange(w, r, change) {
		return
	}
	s.awaitKeys(w, r, key, func(signup wallet.Signup) bool {
		k, ok := signup.Issued(id)
		if !ok {
			return false
		}
		resp := KeyResponse{ID: k.Hash.ID(), RequestID: id}
		status := http.StatusOK
		if k.Hash == hash {
			resp.APIKey, status = apiKey, http.StatusCreated
		}
		writeJSON(w, status, resp)
		return true
	})
}

// deleteKey serves DELETE /api/v1/accounts/{name}/keys/{id}: it revokes
// the key and answers 204 once the view no longer holds it, so a revoked
// key stops working at this server by the time the answer comes.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", http.MethodDelete)
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use DELETE"))
		return
	}
	key, signup, ok := s.keyAccount(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !holds(signup, id) {
		writeError(w, wallet.Errorf(wallet.EKeyNotFound, "account %q holds no key %q", signup.Username, id))
		return
	}
	if !s.sendKeyChange(w, r, wallet.KeyChange{RequestID: uuid.New(), Account: key, Revoke: id}) {
		return
	}
	s.awaitKeys(w, r, key, func(signup wallet.Signup) bool {
		if holds(signup, id) {
			return false
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	})
}

func holds(s wallet.Signup, id string) bool {
	for _, k := range s.Keys {
		if k.Hash.ID() == id {
			return true
		}
	}
	return false
}

func (s *Server) sendKeyChange(w http.ResponseWriter, r *http.Request, k wallet.KeyChange) bool {
	ctx, cancel := context.WithTimeout(r.Context(), s.sendTimeout())
	defer cancel()
	if err := s.Claims.SendKeyChange(ctx, k); err != nil {
		slog.Warn("key change not acknowledged by Kafka", "request_id", k.RequestID, "account", k.Account, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "the key change was not confirmed; retry (with the same request_id to issue a key)"))
		return false
	}
	return true
}

// awaitKeys waits for the signup group's decision, calling answer with
// the account's signup as the view shows it until answer has answered,
// and answers 202 when no decision comes within the decision timeout.
func (s *Server) awaitKeys(w http.ResponseWriter, r *http.Request, key string, answer func(wallet.Signup) bool) {
	timeout := s.DecisionTimeout
	if timeout == 0 {
		timeout = DefaultDecisionTimeout
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		signup, ok, err := s.Signups.Signup(key)
		if err == nil && ok && answer(signup) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending", "account": key})
}
