package bearer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// Discover verifies tokens of the OpenID Connect provider issuerURL: it
// reads issuerURL's /.well-known/openid-configuration (OpenID Connect
// Discovery 1.0 §4), then works as RemoteJWKS with the document's jwks_uri.
//
//	m, err := bearer.New(bearer.Discover("https://idp.example.com"), bearer.WithAudience("api"))
//
// The document must name exactly issuerURL as its issuer (the same string,
// trailing slash included, §4.3) and an https jwks_uri (http only when the
// issuer is a loopback host, for tests). Discover also sets the expected
// issuer: tokens whose iss is not exactly issuerURL are refused, so
// WithIssuer is not needed (if given, it must name issuerURL). A document
// that names another issuer is a configuration error (ErrIssuerMismatch,
// naming both values): Middleware.Ready and Check report it at once, and
// the source retries on the long backoff only.
//
// Discovery runs in the background like the key fetches: New does not wait
// for it, failures are retried with backoff, and until the keys are there
// requests get 503 (see RemoteJWKS). The document is read once; its
// jwks_uri is then used for the life of the middleware. opts apply to both
// fetches.
func Discover(issuerURL string, opts ...RemoteOption) KeySource {
	return &remoteSource{url: issuerURL, discover: true, opts: slices.Clone(opts)}
}

// discoveryURL is where issuer's configuration lives (§4: the path is
// appended after any path of the issuer, without a double slash).
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discover fetches the discovery document and takes its jwks_uri.
func (st *remoteStore) discover(ctx context.Context, trigger FetchTrigger) (answer, error) {
	start := time.Now()
	a, err := st.fetch.get(ctx, st.discoveryURL, nil)
	var jwksURL string
	if err == nil {
		jwksURL, err = jwksURIOf(a.body, st.issuer, st.cfg.insecureHTTP)
	}
	if ctx.Err() != nil {
		return a, ctx.Err()
	}
	st.log.fetched(FetchEvent{URL: redact(st.discoveryURL), Discovery: true, Trigger: trigger, Status: a.status, Duration: time.Since(start), Err: err})
	if err != nil {
		return a, err
	}
	st.jwksURL = jwksURL
	return a, nil
}

// jwksURIOf checks a discovery document against issuer and returns its
// jwks_uri; insecure (RemoteInsecureHTTPForDevelopment) accepts an http
// jwks_uri of an http issuer. The document is read as strictly as a
// token's claims: a member named twice (where encoding/json would take the
// last) makes it malformed, so no reader can take another issuer or
// jwks_uri from it than this one.
func jwksURIOf(doc []byte, issuer string, insecure bool) (string, error) {
	meta, ok := readDiscovery(string(doc))
	if !ok {
		return "", fmt.Errorf("%w: malformed discovery document (not a JSON object, a member named twice, or issuer or jwks_uri not a string)", ErrFetch)
	}
	if meta.Issuer != issuer {
		hint := ""
		if strings.TrimSuffix(meta.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
			hint = " (they differ in a trailing slash: Discover must be given the document's issuer exactly)"
		}
		return "", fmt.Errorf("%w: the document names %q, Discover was given %q%s", ErrIssuerMismatch, redact(meta.Issuer), redact(issuer), hint)
	}
	if meta.JWKSURI == "" {
		return "", fmt.Errorf("%w: discovery document has no jwks_uri", ErrFetch)
	}
	u, err := checkRemoteURL(meta.JWKSURI, insecure)
	if err != nil {
		return "", err
	}
	// http is for tests on loopback: a real issuer may not send us there.
	if iu, _ := checkRemoteURL(issuer, insecure); u.Scheme != "https" && iu.Scheme == "https" {
		return "", fmt.Errorf("%w: jwks_uri %s", ErrInsecureURL, redactedURL(u))
	}
	return meta.JWKSURI, nil
}

// discoveryDocument is what Discover and IntrospectionDiscover read of
// an OpenID Provider's metadata (OpenID Connect Discovery 1.0 §3, RFC 8414
// §2).
type discoveryDocument struct {
	Issuer, JWKSURI, IntrospectionEndpoint string
}

// readDiscovery reads issuer, jwks_uri and introspection_endpoint with the
// strict scanner.
func readDiscovery(doc string) (discoveryDocument, bool) {
	var d discoveryDocument
	var s strictjson.Scanner
	if !s.Reset(doc) {
		return d, false
	}
	for {
		name, v, dup, ok := s.Next()
		if !ok {
			break
		}
		if dup {
			return d, false
		}
		switch name {
		case "issuer":
			ok = readString(v, &d.Issuer)
		case "jwks_uri":
			ok = readString(v, &d.JWKSURI)
		case "introspection_endpoint":
			ok = readString(v, &d.IntrospectionEndpoint)
		}
		if !ok {
			return d, false
		}
	}
	return d, s.Valid()
}
