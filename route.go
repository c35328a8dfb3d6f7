package bearer

import (
	"net/http"
	"path"
	"slices"
	"strings"
)

// WithSkip lets requests for which skip returns true through untouched: no
// token is read, none is required. Several WithSkip options combine: any
// one matching skips. SkipPaths and SkipMethods build the usual rules.
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
// not "/healthcheck". The path is cleaned first, so "/health/../admin"
// does not match.
func SkipPaths(prefixes ...string) func(*http.Request) bool {
	prefixes = slices.Clone(prefixes)
	return func(r *http.Request) bool {
		p := cleanPath(r.URL.Path)
		for _, prefix := range prefixes {
			if underPath(p, prefix) {
				return true
			}
		}
		return false
	}
}

func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
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

// WithCORSPreflight lets CORS preflight requests through untouched, to the
// CORS handler behind: browsers send them without credentials. Only a
// real preflight matches: OPTIONS with both Origin and
// Access-Control-Request-Method; any other OPTIONS request still needs a
// token.
func WithCORSPreflight() Option {
	return func(m *Middleware) error {
		m.preflight = true
		return nil
	}
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// skips reports whether r passes untouched.
func (m *Middleware) skips(r *http.Request) bool {
	if m.preflight && isPreflight(r) {
		return true
	}
	for _, skip := range m.skip {
		if skip(r) {
			return true
		}
	}
	return false
}
