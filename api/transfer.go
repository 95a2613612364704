package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/wallet/wallet"
	"github.com/wallet/wallet/topology"
)

// transferBody is the body of POST /api/v1/transfers as a client sends
// it, before normalisation and validation.
type transferBody struct {
	RequestID *string         `json:"request_id"`
	From      *string         `json:"from"`
	To        *string         `json:"to"`
	Amount    json.RawMessage `json:"amount"`
}

// DecodeTransfer parses a client's JSON body into a normalised, valid
// Transfer: request ID in canonical lower-case form, account names
// trimmed, amount exact. Every failure is an *Error with the code the API
// documents. max is as for Transfer.Validate.
func DecodeTransfer(body []byte, max wallet.Money) (wallet.Transfer, error) {
	var req transferBody
	if err := decodeBody(body, &req); err != nil {
		return wallet.Transfer{}, err
	}
	return decodeTransferBody(req, max)
}

// decodeBody reads a request body that must be one JSON object into v.
func decodeBody(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, v) != nil {
		return wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON")
	}
	return nil
}

func decodeTransferBody(req transferBody, max wallet.Money) (wallet.Transfer, error) {
	var t wallet.Transfer
	if req.RequestID != nil {
		// An unparsable ID stays the nil UUID, which Validate reports.
		if u, err := uuid.Parse(strings.TrimSpace(*req.RequestID)); err == nil {
			t.RequestID = u
		}
	}
	if req.From != nil {
		t.From = strings.TrimSpace(*req.From)
	}
	if req.To != nil {
		t.To = strings.TrimSpace(*req.To)
	}
	// Validate everything but the amount first, so that the codes come in
	// the documented order.
	t.Amount = wallet.MinAmount
	if err := t.Validate(max); err != nil {
		return wallet.Transfer{}, err
	}
	amount, err := decodeAmount(req.Amount)
	if err != nil {
		return wallet.Transfer{}, err
	}
	t.Amount = amount
	if err := t.Validate(max); err != nil {
		return wallet.Transfer{}, err
	}
	return t, nil
}

// decodeAmount reads the amount as a JSON string or number. Anything else
// is invalid_json; a value that is not an exact two-place decimal is
// amount_invalid.
func decodeAmount(raw json.RawMessage) (wallet.Money, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return wallet.Money{}, wallet.Errorf(wallet.EAmountInvalid, "amount is required")
	}
	s, err := wallet.AmountText(raw)
	if err != nil {
		return wallet.Money{}, wallet.Errorf(wallet.EInvalidJSON, "problems parsing JSON")
	}
	m, err := wallet.ParseMoney(strings.TrimSpace(s))
	if err != nil {
		return wallet.Money{}, wallet.Errorf(wallet.EAmountInvalid, "%v", err)
	}
	return m, nil
}

// MaxWait is the longest wait a client may ask for with Prefer: wait=N.
const MaxWait = 30 * time.Second

// TransferResponse is the body of GET /api/v1/transfers/{id}, and of a
// POST that waited for the outcome (Prefer: wait=N): the transfer as
// first requested, its status and, when rejected, the reason.
type TransferResponse struct {
	wallet.Transfer
	Status wallet.Status `json:"status"`
	Reason string        `json:"reason,omitempty"`
	// Partitions is where the transfer goes, given by GET
	// /api/v1/transfers/{id} when the server knows the partition count.
	Partitions *TransferPartitions `json:"partitions,omitempty"`
}

// TransferPartitions is the path of a transfer through the partitions:
// its request's partition of wallet.transfer_request (decided by
// paymentd), then the sender's and the recipient's of wallet.payment
// (decided by the accountant). Each is Kafka's murmur2 partition of the
// key, as every producer computes it.
type TransferPartitions struct {
	Request int32 `json:"request"`
	From    int32 `json:"from"`
	To      int32 `json:"to"`
}

// transferPartitions returns the partitions of t among n, or nil when n
// is unknown (zero) or a name has no account key (it cannot have been
// stored then: paymentd refuses it).
func transferPartitions(t wallet.Transfer, n int) *TransferPartitions {
	if n <= 0 {
		return nil
	}
	from, errFrom := wallet.AccountKey(t.From)
	to, errTo := wallet.AccountKey(t.To)
	if errFrom != nil || errTo != nil {
		return nil
	}
	return &TransferPartitions{
		Request: topology.Partition(t.RequestID.String(), n),
		From:    topology.Partition(from, n),
		To:      topology.Partition(to, n),
	}
}

// movementBody is the body of POST /api/v1/deposits and /withdrawals.
type movementBody struct {
	RequestID *string         `json:"request_id"`
	Account   *string         `json:"account"`
	Amount    json.RawMessage `json:"amount"`
}

// DecodeMovement parses the body of a deposit (from World to the account)
// or, with deposit false, a withdrawal (from the account to World) into a
// valid transfer, with DecodeTransfer's rules.
func DecodeMovement(body []byte, max wallet.Money, deposit bool) (wallet.Transfer, error) {
	var req movementBody
	if err := decodeBody(body, &req); err != nil {
		return wallet.Transfer{}, err
	}
	if req.Account == nil || strings.TrimSpace(*req.Account) == "" {
		return wallet.Transfer{}, wallet.Errorf(EAccountRequired, "account is required")
	}
	world := wallet.World
	t := transferBody{RequestID: req.RequestID, From: req.Account, To: &world, Amount: req.Amount}
	if deposit {
		t.From, t.To = &world, req.Account
	}
	return decodeTransferBody(t, max)
}

func (s *Server) postTransfer(w http.ResponseWriter, r *http.Request) {
	s.post(w, r, func(body []byte) (wallet.Transfer, error) { return DecodeTransfer(body, s.MaxAmount) })
}

func (s *Server) postDeposit(w http.ResponseWriter, r *http.Request) {
	s.post(w, r, func(body []byte) (wallet.Transfer, error) { return DecodeMovement(body, s.MaxAmount, true) })
}

func (s *Server) postWithdrawal(w http.ResponseWriter, r *http.Request) {
	s.post(w, r, func(body []byte) (wallet.Transfer, error) { return DecodeMovement(body, s.MaxAmount, false) })
}

// post stores the transfer that decode makes of the request's body and
// answers 201 once Kafka has it, or with the outcome when the client asked
// to wait for it.
func (s *Server) post(w http.ResponseWriter, r *http.Request, decode func([]byte) (wallet.Transfer, error)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use POST"))
		return
	}
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	t, err := decode(body)
	if err != nil {
		writeError(w, err)
		return
	}
	if !authorizeTransfer(w, who, t) {
		return
	}
	// A request ID paymentd already holds is answered from its state, and
	// one used for another transfer is refused: nothing is written.
	stored, ok := s.storedTransfer(t.RequestID)
	if ok {
		if !stored.Transfer.Equal(t) {
			writeError(w, conflict(t.RequestID, stored.Transfer))
			return
		}
		s.answerTransfer(w, r, stored.Transfer, time.Time{})
		return
	}
	if err := s.checkAccounts(t); err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.sendTimeout())
	defer cancel()
	if err := s.Transfers.Send(ctx, t); err != nil {
		slog.Warn("transfer not acknowledged by Kafka", "request_id", t.RequestID, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "the transfer was not confirmed; retry with the same request_id"))
		return
	}
	s.answerTransfer(w, r, t, time.Now())
}

// checkAccounts is a courtesy: when the signup view already knows that an
// account of t was never signed up, the transfer is refused before it is
// stored. The accountant decides; a view that lags lets the transfer
// through, to be rejected later.
func (s *Server) checkAccounts(t wallet.Transfer) error {
	if s.Signups == nil || !s.Signups.Recovered() {
		return nil
	}
	for _, name := range []string{t.From, t.To} {
		key, err := wallet.AccountKey(name)
		if err != nil || key == wallet.World {
			continue
		}
		if _, ok, err := s.Signups.Signup(key); err == nil && !ok {
			return wallet.Errorf(wallet.EAccountNotFound, "account %q not found", name)
		}
	}
	return nil
}

// answerTransfer answers a stored transfer: at once with 201 and the
// transfer as stored, or, when the client prefers to wait (Prefer:
// wait=N), with its final status, 201 once final or 202 still pending
// after N seconds. accepted is when Kafka acknowledged the transfer (zero
// for a re-post): the time to its final status is measured here, as
// paymentd's table keeps no time of the request.
func (s *Server) answerTransfer(w http.ResponseWriter, r *http.Request, t wallet.Transfer, accepted time.Time) {
	w.Header().Set("Location", transferPath(t.RequestID))
	wait := preferredWait(r.Header)
	if wait == 0 || s.States == nil {
		writeJSON(w, http.StatusCreated, t)
		return
	}
	w.Header().Set("Preference-Applied", fmt.Sprintf("wait=%d", int(wait/time.Second)))
	deadline := time.Now().Add(wait)
	for {
		st, ok := s.storedTransfer(t.RequestID)
		if ok && !st.Transfer.Equal(t) {
			// The view did not know the request ID when this request
			// came; paymentd kept the first transfer under it.
			writeError(w, conflict(t.RequestID, st.Transfer))
			return
		}
		if ok && st.Status.Final() {
			observeCompletion(accepted)
			writeJSON(w, http.StatusCreated, TransferResponse{Transfer: st.Transfer, Status: st.Status, Reason: st.Reason})
			return
		}
		if time.Now().After(deadline) {
			writeJSON(w, http.StatusAccepted, TransferResponse{Transfer: t, Status: wallet.Pending})
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// preferredWait returns the wait a request asks for with Prefer: wait=N
// (RFC 7240), at most MaxWait; 0 when it asks for none.
func preferredWait(h http.Header) time.Duration {
	for _, v := range h.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err == nil && n > 0 {
				return min(time.Duration(n)*time.Second, MaxWait)
			}
		}
	}
	return 0
}

// conflict is the error for a request ID used for another transfer.
func conflict(id uuid.UUID, first wallet.Transfer) error {
	return wallet.Errorf(wallet.ERequestIDConflict, "request ID %s was used for another transfer: %s -> %s %s",
		id, first.From, first.To, first.Amount)
}

// storedTransfer returns what paymentd holds under a request ID, if the
// server has a view of it and the view has it.
func (s *Server) storedTransfer(id uuid.UUID) (wallet.TransferState, bool) {
	if s.States == nil {
		return wallet.TransferState{}, false
	}
	st, ok, err := s.States.Transfer(id)
	if err != nil {
		slog.Warn("read transfer", "request_id", id, "error", err)
		return wallet.TransferState{}, false
	}
	return st, ok
}

func transferPath(id uuid.UUID) string { return "/api/v1/transfers/" + id.String() }

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, wallet.Errorf(EMethodNotAllowed, "use GET"))
		return
	}
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, wallet.Errorf(wallet.ERequestIDInvalid, "request ID must be a valid UUID"))
		return
	}
	st, ok, err := s.States.Transfer(id)
	if err != nil {
		slog.Warn("read transfer", "request_id", id, "error", err)
		writeError(w, wallet.Errorf(wallet.EUnavailable, "transfers are not available yet; retry shortly"))
		return
	}
	if !ok {
		writeError(w, wallet.Errorf(wallet.ETransferNotFound, "transfer not found"))
		return
	}
	from, _ := wallet.AccountKey(st.Transfer.From)
	to, _ := wallet.AccountKey(st.Transfer.To)
	if !who.may(from, true) && !who.may(to, true) {
		forbid(w, "only the owners of the transfer's accounts may read it")
		return
	}
	writeJSON(w, http.StatusOK, TransferResponse{Transfer: st.Transfer, Status: st.Status, Reason: st.Reason,
		Partitions: transferPartitions(st.Transfer, s.Partitions)})
}
