package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCConfig configures bearer tokens from an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the issuer URL; its /.well-known/openid-configuration is
	// fetched at start, and must name exactly this issuer.
	Issuer string
	// Audience is the "aud" a token must carry. Required.
	Audience string
	// Claim is the claim that names the wallet username; "" means
	// "preferred_username".
	Claim string
	// HTTPClient fetches the discovery document and the key set; nil means
	// http.DefaultClient. Give it a Timeout: key sets are refetched in the
	// background, outside any request's context, and a fetch that hangs
	// holds up every token signed with a key not yet seen.
	HTTPClient *http.Client
}

// defaultOIDCClaim names the wallet username when OIDCConfig.Claim is empty.
const defaultOIDCClaim = "preferred_username"

// OIDC verifies bearer tokens issued by one provider. It is safe for
// concurrent use; make one and share it, for it caches the provider's keys.
type OIDC struct {
	verifier *oidc.IDTokenVerifier
	claim    string
}

// NewOIDC discovers the provider (fetching its discovery document) and
// returns a verifier. ctx bounds the discovery only. The provider's key set
// (its jwks_uri) is fetched when the first token arrives and cached by
// go-oidc, which fetches it again whenever a token names a key ID it does
// not hold, or fails to verify against the cached keys: that is how keys the
// provider rotates in are picked up without a restart. go-oidc shares one
// fetch among the tokens waiting on it but does not rate-limit fetches, so
// forged tokens can make the wallet fetch the key set once per token: throttle
// callers whose tokens keep failing.
//
// Tokens must be signed with an algorithm the provider advertises and
// go-oidc supports (RSA, ECDSA or EdDSA; RS256 if it advertises none): "none"
// and HMAC tokens are refused.
func NewOIDC(ctx context.Context, c OIDCConfig) (*OIDC, error) {
	if c.Issuer == "" {
		return nil, errors.New("OIDC: an issuer is required")
	}
	if c.Audience == "" {
		return nil, fmt.Errorf("OIDC issuer %s: an audience is required", c.Issuer)
	}
	claim := c.Claim
	if claim == "" {
		claim = defaultOIDCClaim
	}
	client := c.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	// go-oidc takes its HTTP client from the context. The provider keeps it
	// and its key set uses it for every key fetch, under a background
	// context of its own.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC issuer %s: %w", c.Issuer, err)
	}
	// ClientID is the audience check; SkipClientIDCheck stays false, so an
	// empty audience could not slip through.
	v := p.Verifier(&oidc.Config{ClientID: c.Audience})
	return &OIDC{verifier: v, claim: claim}, nil
}

// Username returns the username the token names in the configured claim,
// once the token's signature, issuer, audience and expiry are verified; an
// error otherwise (a missing or non-string or empty claim is an error too).
// Errors never contain the token. ctx bounds the wait for a key-set fetch,
// not the fetch, which go-oidc runs on its own.
//
// The name is returned as the token has it: callers map it to an account
// with wallet.UsernameKey, which also refuses reserved names such as
// wallet.World.
func (o *OIDC) Username(ctx context.Context, token string) (string, error) {
	t, err := o.verifier.Verify(ctx, token)
	if err != nil {
		return "", fmt.Errorf("verify bearer token: %w", err)
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return "", fmt.Errorf("verify bearer token: decode claims: %w", err)
	}
	v, ok := claims[o.claim]
	if !ok {
		return "", fmt.Errorf("verify bearer token: no %q claim", o.claim)
	}
	name, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("verify bearer token: claim %q is a %T, not a string", o.claim, v)
	}
	if name == "" {
		return "", fmt.Errorf("verify bearer token: claim %q is empty", o.claim)
	}
	return name, nil
}
