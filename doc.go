// Package bearer protects HTTP services with JWT bearer tokens (RFC 6750,
// RFC 7519, RFC 8725, RFC 9068).
//
// A Middleware reads the token from each request, verifies it with a
// KeySource and puts the verified *Token into the request's context, where
// handlers read it with FromContext, Subject, Scopes and ClaimsFrom.
// Failures get the answers RFC 6750 §3 prescribes: 401 with a
// WWW-Authenticate challenge, 400 for malformed requests, 403 for missing
// scopes, 503 with Retry-After when keys or revocation cannot be consulted.
//
//	auth, err := bearer.New(bearer.RemoteJWKS("https://idp.example.com/.well-known/jwks.json"),
//		bearer.WithIssuer("https://idp.example.com/"),
//		bearer.WithAudience("orders-api"))
//	if err != nil {
//		log.Fatal(err) // a configuration that cannot be used: nothing started
//	}
//	defer auth.Close()
//	mux.Handle("GET /orders", auth.Handler(bearer.RequireScopes("orders:read")(orders)))
//
// # Which one do I call
//
//	to                                         call
//	protect a handler (token required)         m.Handler(h)
//	... and require scopes or rules            m.Handler(bearer.RequireScopes("a")(h)), bearer.Require(rules...)
//	require a token behind an optional Mode    bearer.RequireToken(h)
//	read the token in a handler                bearer.FromContext(ctx), bearer.ClaimsFrom[T](ctx)
//	check rules inside a handler               bearer.Authorize(ctx, rules...)
//	rule on a nested claim                     bearer.Claim("realm_access", "roles").Includes("admin")
//	refuse ID tokens offered as access tokens  bearer.WithoutIDTokens()
//	verify opaque tokens (RFC 7662)            bearer.Introspection(endpoint, bearer.ClientSecretBasic(id, secret))
//	verify a token without HTTP                m.Verify(ctx, raw)
//	verify a request, answer it yourself       m.Admit(r), then m.WriteError(w, r, err)
//	write an adapter for a framework           m.ServePreflight, m.Admit or m.AdmitHeader, m.HandleError or m.SetErrorHeaders
//	wait for remote keys before serving        m.Ready(ctx); readiness probe: m.Check(ctx)
//
// # Secure defaults
//
// New refuses a configuration that would accept tokens meant for another
// service: it needs WithAudience and WithIssuer (Discover,
// IntrospectionDiscover and Issuers bind the issuer), unless WithoutAudienceCheck or WithoutIssuerCheck waive the
// check by name. exp is required unless WithExpiryOptional, the key decides the
// algorithm, remote keys come over https only (plain http on loopback, for
// tests, or with RemoteInsecureHTTPForDevelopment), and options that conflict
// are an error (ErrConfig), never a silent override.
//
// # Verification
//
// Verification follows RFC 8725: the key, never the token, decides the
// algorithm; "none" is always refused; only the JWS compact serialization
// with strict base64url is accepted; an unknown crit header is refused; keys
// are never taken from the token's own jku, x5u, jwk or x5c headers; exp is
// required, and every NumericDate must be a JSON number. A header or claims
// set with a member name twice, at any depth, also under case folding, is
// malformed: what handlers read is exactly what was checked.
//
// Cheap checks come before costly ones: size, form, the algorithm allowlist
// and the unverified issuer (which selects the keys) before any key lookup
// or signature; a DPoP proof's key binding before its signature.
//
// # Two readers for every failure
//
// The client gets a fixed, safe description (Error.Description). The
// operator gets what was expected and what arrived: the error from Verify,
// ErrorFrom, the Observer's events and the WithLogger lines carry the
// cause (Error.Err), never the token, a signature or key material.
//
// # Remote keys
//
// Requests never fetch in steady state: they read the current key set
// without locks. A remote source (RemoteJWKS, and Discover once it has
// read the discovery document):
//
//   - refreshes ahead of expiry (at about 80% of the freshness the answer's
//     Cache-Control max-age or Expires asks for, clamped, else of
//     DefaultRefreshInterval), with conditional requests (ETag,
//     Last-Modified); after a failure it retries with exponential backoff
//     and jitter (up to DefaultMaxBackoff while keys are at hand),
//     honouring Retry-After;
//   - fetches when a token names a kid it does not know, so that a newly
//     published key verifies on its first request. Such a token is
//     refused as an unknown key (401) only once a fetch that started after
//     it arrived has not brought the key; until then it waits for that
//     fetch (bounded by DefaultKeyWait and its context), or, when it
//     cannot, gets 503 with a Retry-After of seconds: it is never refused
//     because the source did not look. These fetches come from a budget
//     (a burst of three, then one per DefaultKeyMissCooldown), shared
//     with Ready, Check and Refresh, so that a flood of made-up kids costs
//     the provider at most 33 fetches a minute, while a new key still
//     verifies within the cooldown (and one fetch) of its first use. At
//     most 256 requests wait for fetches; more are answered at once.
//     Tokens without a kid, and bad signatures under a known kid, never
//     cause a fetch;
//   - keeps serving the last good keys through any failure for up to
//     DefaultMaxStaleness past their freshness, then fails closed. A failed
//     fetch (any status but 200 or 304, an over-size, malformed or empty
//     set, a set with no usable key) never replaces good keys;
//   - keeps only public signature keys it can use (RSA of 2048 to 4096 bits,
//     ECDSA P-256/384/521, Ed25519), honouring each key's use,
//     key_ops and alg; unusable keys are skipped one by one and reported,
//     symmetric keys and published private keys (disclosed: anyone could
//     sign with them) are always refused;
//   - follows at most three redirects, to the same host only and never from
//     https to http: keys come from the host the configuration names.
//
// A request that finds no keys (the first fetch has not succeeded, or the
// keys expired) waits for a fetch in flight for at most DefaultKeyWait, then
// fails with ErrKeysUnavailable: a 503 answer with Retry-After, since the
// token may be fine. Without keys, failed fetches are retried every 0.75
// to 1.5 s (or at the provider's Retry-After), so that keys come soon
// after the provider does. Every Retry-After says when a retry can
// succeed, and is at most 30 s. Middleware.Refresh fetches now, within the
// key-miss budget, for an operator who must stop a withdrawn key before
// the next refresh. Close
// stops the background work.
//
// Credentials in a source's URL (https://user:password@…, which net/http sends as
// Basic authentication) are never shown: logs, errors and events carry
// the URL with xxxxx in place of its userinfo.
package bearer
