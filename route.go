package bearer

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// WithSkip lets requests for which skip returns true through untouched: no
// token is read, none is required. Several WithSkip options combine: any
// one matching skips. SkipPaths and SkipMethods build the usual rules.
//
// A skip rule decides what an unauthenticated request may reach, so it
// must see the request as the router will. Mounting the middleware on the
// routes that need a token, and the public routes beside it, is safer: no
// request then reaches a protected handler without passing the middleware.
func WithSkip(skip func(r *http.Request) bool) Option {
	return func(m *Middleware) error {
		if skip == nil {
			return errNilOption("skip rule")
		}
		m.skip = append(m.skip, skip)
		return nil
	}
}

// SkipPaths matches requests whose path is one of prefixes or lies below
// one, segment by segment: "/health" matches "/health" and "/health/live",
// not "/healthcheck"; "/public/" matches "/public/" and "/public/a", not
// "/public".
//
// It decides on the path as the request carries it (URL.EscapedPath),
// which is what routers route on, and only when that path is in a form
// every router reads alike: no "." or ".." segment (nor one of dots only),
// no empty segment ("//"), no backslash, no ";" parameters, and no
// percent-encoding but of printable ASCII other than "/", "\", ".", "%"
// and ";" (in either case of hex digits). Routers disagree on whether and
// when they decode, clean or split such paths ("/public/..%2Fadmin" is
// "/admin" to one and a file below "/public/" to another), so any other
// path needs a token, whatever its prefix: the rule fails closed.
//
// Each prefix must itself be in that form and begin with "/"; SkipPaths
// panics otherwise, as a mistyped prefix is a programming error that would
// otherwise change which routes are public without a word.
func SkipPaths(prefixes ...string) func(*http.Request) bool {
	prefixes = slices.Clone(prefixes)
	for _, prefix := range prefixes {
		if !canonicalPath(prefix) {
			panic(fmt.Sprintf("bearer: SkipPaths prefix %q is not a canonical path: it must begin with \"/\" and hold no dot or empty segment, backslash, \";\", nor an escape of a separator or of a byte outside printable ASCII", prefix))
		}
	}
	return func(r *http.Request) bool {
		p, ok := escapedPath(r)
		if !ok {
			return false
		}
		for _, prefix := range prefixes {
			if underPath(p, prefix) {
				return canonicalPath(p)
			}
		}
		return false
	}
}

// escapedPath returns r's path as it travelled. A URL whose RawPath is not
// the path EscapedPath gives (set by code that changed Path alone) is
// refused: routers that read RawPath would route on another path than the
// one checked.
func escapedPath(r *http.Request) (string, bool) {
	u := r.URL
	if u == nil || u.Opaque != "" {
		return "", false
	}
	p := u.EscapedPath()
	return p, u.RawPath == "" || u.RawPath == p
}

// canonicalPath reports whether p, an escaped path, reads the same to
// every router: it begins with "/"; no segment is empty (but the last,
// for a trailing slash) or made of dots only; and each byte is one RFC
// 3986 allows unescaped in a segment (unreserved, sub-delims, ":", "@")
// other than ";", or is part of a percent-escape of a printable ASCII byte
// that separates nothing (not "/", "\", ".", "%", ";").
func canonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		if !canonicalSegment(p[start:i], i == len(p)) {
			return false
		}
		start = i + 1
	}
	return true
}

func canonicalSegment(s string, last bool) bool {
	if s == "" {
		return last
	}
	if strings.Trim(s, ".") == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80 && segmentChars[c/64]&(1<<(c%64)) != 0:
		case c == '%':
			if i+2 >= len(s) || !harmlessEscape(s[i+1], s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

// segmentChars is the set of bytes a canonical segment holds unescaped,
// as a bitmap over ASCII: RFC 3986's pchar without ";" and escapes.
var segmentChars = func() (set [2]uint64) {
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,=:@" {
		set[c/64] |= 1 << (c % 64)
	}
	return set
}()

// harmlessEscape reports whether the percent-escape with hex digits h, l
// decodes to a printable ASCII byte that no router reads as a separator,
// a dot segment, a parameter or another escape.
func harmlessEscape(h, l byte) bool {
	hi, ok1 := unhex(h)
	lo, ok2 := unhex(l)
	if !ok1 || !ok2 {
		return false
	}
	c := hi<<4 | lo
	return ' ' <= c && c <= '~' && strings.IndexByte(`/\.%;`, c) < 0
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func underPath(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

// SkipMethods matches requests with one of methods (e.g. "GET", "HEAD" for
// a public read-only API). For CORS preflights use WithCORSPreflight, which
// does not skip every OPTIONS request.
func SkipMethods(methods ...string) func(*http.Request) bool {
	methods = slices.Clone(methods)
	return func(r *http.Request) bool {
		return slices.Contains(methods, r.Method)
	}
}

// WithCORSPreflight sends CORS preflight requests, which browsers send
// without credentials, to cors, never to the handler the middleware
// protects: a handler that answers every method (a file server, a reverse
// proxy, a route without a method) would serve its content to them. cors
// must answer preflights itself, as rs/cors does:
//
//	c := cors.New(cors.Options{...})
//	bearer.WithCORSPreflight(http.HandlerFunc(c.HandlerFunc))
//
// Only a real preflight goes there: OPTIONS with both Origin and
// Access-Control-Request-Method; any other OPTIONS request needs a token.
// A CORS handler wrapped around the middleware answers preflights before
// they reach it and needs no such option. A nil cors is a configuration
// error.
func WithCORSPreflight(cors http.Handler) Option {
	return func(m *Middleware) error {
		if cors == nil {
			return errNilOption("CORS handler")
		}
		m.preflight = cors
		return nil
	}
}

// ServePreflight answers r with the handler of WithCORSPreflight when r
// is a CORS preflight, and reports whether it did; the caller then stops.
// Handler calls it before anything else; adapters call it before Admit,
// which requires a token of preflights as of any request.
func (m *Middleware) ServePreflight(w http.ResponseWriter, r *http.Request) bool {
	if m.preflight == nil || !isPreflight(r) {
		return false
	}
	m.preflight.ServeHTTP(w, r)
	return true
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// skips reports whether r passes untouched.
func (m *Middleware) skips(r *http.Request) bool {
	for _, skip := range m.skip {
		if skip(r) {
			return true
		}
	}
	return false
}
