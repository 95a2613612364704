package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/wallet/wallet"
	"github.com/wallet/wallet/api"
)

const oidcAudience = "wallet-api"

// oidcIssuer is a local OpenID Connect provider: it serves a discovery document
// and a key set that a test may change, and signs tokens.
type oidcIssuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey // the public keys served at /jwks
	fetches atomic.Int32      // GETs of /jwks
}

// newOIDCIssuer starts an issuer over TLS, so that only a verifier given its
// client (OIDCConfig.HTTPClient) can reach it.
func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	iss := &oidcIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, map[string]any{
			"issuer":   iss.srv.URL,
			"jwks_uri": iss.srv.URL + "/jwks",
			// HS256 and none are advertised as a careless provider might:
			// the verifier must refuse them all the same.
			"id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.fetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: iss.keys}
		iss.mu.Unlock()
		serveJSON(t, w, set)
	})
	iss.srv = httptest.NewUnstartedServer(mux)
	// A client without the issuer's certificate fails the handshake on
	// purpose (TestNewOIDCConfig); the server need not log it.
	iss.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	iss.srv.StartTLS()
	t.Cleanup(iss.srv.Close)
	return iss
}

func serveJSON(t *testing.T, w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Errorf("issuer: encode answer: %v", err)
	}
}

// serve adds k's public key to the key set.
func (iss *oidcIssuer) serve(k oidcKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = append(iss.keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
}

// verifier returns a verifier of the issuer's tokens for oidcAudience, reading
// the username from claim.
func (iss *oidcIssuer) verifier(t *testing.T, claim string) *api.OIDC {
	t.Helper()
	o, err := api.NewOIDC(t.Context(), api.OIDCConfig{
		Issuer: iss.srv.URL, Audience: oidcAudience, Claim: claim, HTTPClient: iss.srv.Client(),
	})
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return o
}

// claims returns the claims of a valid token from iss for alice.
func (iss *oidcIssuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":                iss.srv.URL,
		"aud":                oidcAudience,
		"sub":                "0f6b2c1e",
		"iat":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"preferred_username": "alice",
	}
}

type oidcKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newOIDCKey(t *testing.T, kid string) oidcKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return oidcKey{kid: kid, priv: priv}
}

// sign returns claims as a JWT that k signs with RS256.
func (k oidcKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signJWT(t, jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, claims)
}

func signJWT(t *testing.T, key jose.SigningKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// unsignedJWT returns claims as a JWT with "alg": "none", which go-jose will
// not produce.
func unsignedJWT(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + enc(claims) + "."
}

// hmacWithPublicKey returns claims as a JWT signed with HS256, with the PEM
// of k's public key as the secret: the algorithm-confusion forgery that
// succeeds against a verifier that lets the token choose its algorithm.
func hmacWithPublicKey(t *testing.T, k oidcKey, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return signJWT(t, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: k.kid}}, claims)
}

func TestOIDCUsername(t *testing.T) {
	t.Parallel()
	iss := newOIDCIssuer(t)
	key := newOIDCKey(t, "key-1")
	iss.serve(key)
	other := newOIDCKey(t, "key-other")

	with := func(change func(c map[string]any)) map[string]any {
		c := iss.claims()
		change(c)
		return c
	}
	tests := []struct {
		name    string
		claim   string // OIDCConfig.Claim
		token   string
		want    string
		wantErr string // a substring of the error; "" for success
	}{
		{name: "valid", token: key.sign(t, iss.claims()), want: "alice"},
		{name: "audience among several", token: key.sign(t, with(func(c map[string]any) { c["aud"] = []string{"other", oidcAudience} })), want: "alice"},
		{name: "wrong audience", token: key.sign(t, with(func(c map[string]any) { c["aud"] = "another-api" })), wantErr: "audience"},
		{name: "no audience", token: key.sign(t, with(func(c map[string]any) { delete(c, "aud") })), wantErr: "audience"},
		{name: "wrong issuer", token: key.sign(t, with(func(c map[string]any) { c["iss"] = "https://evil.example" })), wantErr: "different provider"},
		{name: "expired", token: key.sign(t, with(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), wantErr: "expired"},
		{name: "no expiry", token: key.sign(t, with(func(c map[string]any) { delete(c, "exp") })), wantErr: "expired"},
		{name: "signed by a key not in the key set", token: other.sign(t, iss.claims()), wantErr: "signature"},
		{name: "signed by another key under the key ID of the issuer's", token: oidcKey{kid: key.kid, priv: other.priv}.sign(t, iss.claims()), wantErr: "signature"},
		{name: "alg none", token: unsignedJWT(t, key.kid, iss.claims()), wantErr: "malformed jwt"},
		{name: "HS256 forged with the public key", token: hmacWithPublicKey(t, key, iss.claims()), wantErr: "malformed jwt"},
		{name: "valid signature, payload changed", token: tamperJWT(t, key.sign(t, iss.claims())), wantErr: "signature"},
		{name: "not a JWT", token: "opaque-access-token", wantErr: "malformed jwt"},
		{name: "missing claim", token: key.sign(t, with(func(c map[string]any) { delete(c, "preferred_username") })), wantErr: `no "preferred_username" claim`},
		{name: "empty claim", token: key.sign(t, with(func(c map[string]any) { c["preferred_username"] = "" })), wantErr: "empty"},
		{name: "claim not a string", token: key.sign(t, with(func(c map[string]any) { c["preferred_username"] = 42 })), wantErr: "not a string"},
		{name: "custom claim", claim: "wallet_user", token: key.sign(t, with(func(c map[string]any) { c["wallet_user"] = "bob" })), want: "bob"},
		{name: "custom claim missing, default present", claim: "wallet_user", token: key.sign(t, iss.claims()), wantErr: `no "wallet_user" claim`},
	}
	verifiers := map[string]*api.OIDC{"": iss.verifier(t, ""), "wallet_user": iss.verifier(t, "wallet_user")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := verifiers[tt.claim].Username(t.Context(), tt.token)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Username() = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Username() = %q, nil; want an error containing %q", got, tt.wantErr)
			}
			t.Logf("Username() error: %v", err)
			if !strings.HasPrefix(err.Error(), "verify bearer token: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Username() error = %q; want it to begin %q and contain %q", err, "verify bearer token: ", tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("Username() error contains the token: %q", err)
			}
		})
	}
}

// tamperJWT replaces the payload of a signed token with one that names
// mallory, keeping the header and signature.
func tamperJWT(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.Replace(string(b), `"alice"`, `"mallory"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(payload))
	return strings.Join(parts, ".")
}

// TestOIDCKeyRotation checks that the key set is cached, and fetched again
// when a token names a key ID the verifier has not seen: a provider may
// start signing with a new key without the wallet restarting.
func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	iss := newOIDCIssuer(t)
	old := newOIDCKey(t, "key-1")
	iss.serve(old)
	o := iss.verifier(t, "")

	for i := range 2 {
		if got, err := o.Username(t.Context(), old.sign(t, iss.claims())); err != nil || got != "alice" {
			t.Fatalf("token %d under the first key: Username() = %q, %v; want alice", i, got, err)
		}
	}
	if n := iss.fetches.Load(); n != 1 {
		t.Fatalf("key set fetched %d times for two tokens under one key; want 1 (cached)", n)
	}

	rotated := newOIDCKey(t, "key-2")
	iss.serve(rotated)
	if got, err := o.Username(t.Context(), rotated.sign(t, iss.claims())); err != nil || got != "alice" {
		t.Fatalf("token under the rotated-in key: Username() = %q, %v; want alice", got, err)
	}
	if n := iss.fetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times after a new key ID; want 2", n)
	}
	if got, err := o.Username(t.Context(), old.sign(t, iss.claims())); err != nil || got != "alice" {
		t.Errorf("token under the first key, still served: Username() = %q, %v; want alice", got, err)
	}
}

func TestNewOIDCUnreachableIssuer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now: connections are refused

	_, err := api.NewOIDC(t.Context(), api.OIDCConfig{Issuer: url, Audience: oidcAudience})
	if err == nil {
		t.Fatal("NewOIDC() with an unreachable issuer returned no error")
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("NewOIDC() error = %q; want it to name the issuer %s", err, url)
	}
}

func TestNewOIDCConfig(t *testing.T) {
	t.Parallel()
	iss := newOIDCIssuer(t)
	tests := []struct {
		name    string
		config  api.OIDCConfig
		wantErr string
	}{
		{"no issuer", api.OIDCConfig{Audience: oidcAudience, HTTPClient: iss.srv.Client()}, "issuer is required"},
		{"no audience", api.OIDCConfig{Issuer: iss.srv.URL, HTTPClient: iss.srv.Client()}, "audience is required"},
		// The discovery document names the issuer without the slash; they
		// must match exactly, as the "iss" of tokens will be compared.
		{"issuer differs from the discovered one", api.OIDCConfig{Issuer: iss.srv.URL + "/", Audience: oidcAudience, HTTPClient: iss.srv.Client()}, "did not match"},
		// Without the issuer's client, its TLS certificate is not trusted.
		{"default client", api.OIDCConfig{Issuer: iss.srv.URL, Audience: oidcAudience}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := api.NewOIDC(t.Context(), tt.config)
			t.Logf("NewOIDC() error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewOIDC() error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestServerAcceptsOIDCTokens: with Tokens set to the verifier of a local
// issuer, a token naming alice acts as alice's key does, and no further;
// a token of another issuer or for another audience is answered 401.
func TestServerAcceptsOIDCTokens(t *testing.T) {
	iss := newOIDCIssuer(t)
	k := newOIDCKey(t, "k1")
	iss.serve(k)
	s := newSignups(nil)
	signUp(t, s, "Alice", wallet.Money{})
	signUp(t, s, "Bob", wallet.Money{})
	tr := &transfers{}
	h := (&api.Server{Transfers: tr, Signups: s, Accounts: accounts{"alice": {}, "bob": {}}, Tokens: iss.verifier(t, "")}).Handler()

	alice := k.sign(t, iss.claims())
	wrongAudience := iss.claims()
	wrongAudience["aud"] = "another-api"
	other := newOIDCKey(t, "k1") // the same key ID, not the issuer's key
	for _, tt := range []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"read her account", alice, "GET", "/api/v1/accounts/alice", "", 200},
		{"read Bob's", alice, "GET", "/api/v1/accounts/bob", "", 403},
		{"send from her account", alice, "POST", "/api/v1/transfers", `{"request_id":"` + primerID + `","from":"Alice","to":"Bob","amount":"1"}`, 201},
		{"send from Bob's", alice, "POST", "/api/v1/transfers", `{"request_id":"` + otherID + `","from":"Bob","to":"Alice","amount":"1"}`, 403},
		{"another audience", k.sign(t, wrongAudience), "GET", "/api/v1/accounts/alice", "", 401},
		{"another key", other.sign(t, iss.claims()), "GET", "/api/v1/accounts/alice", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, resp, _ := doAs(t, h, tt.token, tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("got %d %s, want %d", status, resp, tt.status)
			}
		})
	}
	if len(tr.sent) != 1 || tr.sent[0].From != "Alice" {
		t.Errorf("sent %+v, want Alice's transfer alone", tr.sent)
	}
}
