package bearer

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorHandler writes the answer to a request whose authentication or
// authorization failed. err is always an *Error.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// WriteError writes the RFC 6750 answer for err: the status, the headers
// of SetErrorHeaders and a small JSON body. It works on a nil *Middleware,
// with no realm.
func (m *Middleware) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFrom(err)
	h := w.Header()
	m.SetErrorHeaders(h, r, e)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(e.body())
}

// HandleError answers a failed request with m's ErrorHandler: WriteError,
// unless WithErrorHandler set another. It works on a nil *Middleware
// (WriteError, with no realm). Adapters call it so that their answers
// follow the same configuration as Handler's.
func (m *Middleware) HandleError(w http.ResponseWriter, r *http.Request, err error) {
	if m == nil || !m.onErrorSet {
		m.WriteError(w, r, err)
		return
	}
	// A custom body must not cost the challenge: the headers are set for
	// the handler, and its request says which middleware answers (for
	// MiddlewareFrom) and why (for ErrorFrom).
	e := errorFrom(err)
	m.SetErrorHeaders(w.Header(), r, e)
	if r != nil {
		r = r.WithContext(context.WithValue(r.Context(), anonymousKey{}, &anonymous{m, e}))
	}
	m.onError(w, r, e)
}

// SetErrorHeaders sets the headers of the answer to err for r, all that
// WriteError sends but Content-Type: the WWW-Authenticate challenges
// (RFC 6750 §3; with WithDPoP a DPoP challenge too, RFC 9449 §7.1, and a
// DPoP-Nonce where one is needed), or Retry-After for a 503, which carries
// no challenge; and Cache-Control: no-store and X-Content-Type-Options:
// nosniff. Adapters use it when their framework writes the body. r may be
// nil where there is no HTTP request (gRPC). It works on a nil
// *Middleware, with no realm.
func (m *Middleware) SetErrorHeaders(h http.Header, r *http.Request, err error) {
	e := errorFrom(err)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", retryAfterSeconds(e.RetryAfter))
		return
	}
	if m == nil || m.dpop == nil {
		h.Set("WWW-Authenticate", m.challenge("Bearer", e, true))
		return
	}
	// The error belongs to the scheme the request used.
	onDPoP := m.dpop.required || e.Code == CodeInvalidDPoPProof || e.Code == CodeUseDPoPNonce || r != nil && dpopScheme(r)
	h.Del("WWW-Authenticate")
	if !m.dpop.required {
		h.Add("WWW-Authenticate", m.challenge("Bearer", e, !onDPoP))
	}
	h.Add("WWW-Authenticate", m.challenge("DPoP", e, onDPoP))
	if e.Code == CodeUseDPoPNonce && m.dpop.nonces != nil {
		h.Set("DPoP-Nonce", m.dpop.nonces.Nonce(m.clock()))
	}
}

// challenge builds one challenge of scheme; withError adds e's error
// attributes, which belong to the scheme the request used.
func (m *Middleware) challenge(scheme string, e *Error, withError bool) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(scheme)
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		writeQuoted(&b, value)
		b.WriteByte('"')
		sep = ", "
	}
	if m != nil && m.realm != "" {
		param("realm", m.realm)
	}
	if m != nil && m.metadataURL != "" {
		param("resource_metadata", m.metadataURL)
	}
	if scheme == "DPoP" {
		param("algs", m.dpop.algs)
	}
	if withError && e.Code != "" {
		param("error", e.Code)
		if e.Description != "" {
			param("error_description", e.Description)
		}
		if e.Scope != "" {
			param("scope", e.Scope)
		}
	}
	return b.String()
}

// writeQuoted writes s as the content of an RFC 7230 quoted-string: quotes
// and backslashes are escaped, and control characters, which could split the
// header, are dropped.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 && c != '\t', c == 0x7f:
			// dropped
		default:
			b.WriteByte(c)
		}
	}
}

// body is the JSON answer WriteError sends.
func (e *Error) body() []byte {
	b, _ := e.MarshalJSON()
	return append(b, '\n')
}

// maxRetryAfter bounds the Retry-After of every 503: clients that honour
// it must not stay away for long when keys or state may be back in seconds.
const maxRetryAfter = 30 * time.Second

// retryAfterSeconds is d in whole seconds for a Retry-After header: rounded
// up (a client coming back early would only meet another 503), at least 1,
// at most maxRetryAfter.
func retryAfterSeconds(d time.Duration) string {
	d = min(d, maxRetryAfter)
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
