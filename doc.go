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
//	verify a token without HTTP                m.Verify(ctx, raw)
//	verify a request, answer it yourself       m.Admit(r), then m.WriteError(w, r, err)
//	write an adapter for a framework           m.ServePreflight, m.Admit or m.AdmitHeader, m.HandleError or m.SetErrorHeaders
//	wait for remote keys before serving        m.Ready(ctx); readiness probe: m.Check(ctx)
//
// # Secure defaults
//
// New refuses a configuration that would accept tokens meant for another
// service: it needs WithAudience and WithIssuer (Discover and Issuers bind
// the issuer), unless WithoutAudienceCheck or WithoutIssuerCheck waive the
// check by name. exp is required unless WithExpiryOptional, the key decides the
// algorithm, remote keys come over https only, and options that conflict
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
package bearer
