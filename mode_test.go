package bearer_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// reason answers with the subject, or with why the request is anonymous.
var reason = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if t, ok := bearer.FromContext(r.Context()); ok {
		io.WriteString(w, "token "+t.Subject())
		return
	}
	if e, ok := bearer.ErrorFrom(r.Context()); ok {
		io.WriteString(w, "anonymous "+e.Code+" "+e.Description)
		return
	}
	io.WriteString(w, "no reason")
})

func TestModes(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	good := bearerHeader(iss.MustMint(bearertest.Claims{"sub": "erin"}))
	bad := bearerHeader(iss.MustMint(bearertest.Claims{"sub": "erin", "exp": 1}))
	malformed := http.Header{"Authorization": {"Bearer"}}

	type expect struct {
		status int
		body   string
	}
	cases := []struct {
		mode                        bearer.Mode
		good, none, bad, malformedR expect
	}{
		{bearer.Required,
			expect{200, "token erin"},
			expect{401, `{"error":"unauthorized","error_description":"bearer token required"}`},
			expect{401, `{"error":"invalid_token","error_description":"token expired"}`},
			expect{400, `{"error":"invalid_request","error_description":"malformed bearer credentials"}`}},
		{bearer.CredentialsOptional,
			expect{200, "token erin"},
			expect{200, "anonymous  bearer token required"},
			expect{401, `{"error":"invalid_token","error_description":"token expired"}`},
			expect{400, `{"error":"invalid_request","error_description":"malformed bearer credentials"}`}},
		{bearer.AllowFailed,
			expect{200, "token erin"},
			expect{200, "anonymous  bearer token required"},
			expect{200, "anonymous invalid_token token expired"},
			expect{200, "anonymous invalid_request malformed bearer credentials"}},
	}
	for _, c := range cases {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(c.mode))...)
		srv := serve(t, m.Handler(reason))
		for name, r := range map[string]struct {
			header http.Header
			want   expect
		}{"good": {good, c.good}, "none": {nil, c.none}, "bad": {bad, c.bad}, "malformed": {malformed, c.malformedR}} {
			got := call(t, srv.URL, r.header)
			if got.status != r.want.status || trim(got.body) != r.want.body {
				t.Errorf("mode %d, %s token: %d %q, want %d %q", c.mode, name, got.status, got.body, r.want.status, r.want.body)
			}
		}
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(9))...); err == nil {
		t.Error("New accepted an unknown mode")
	}
}

func TestAllowFailedReason(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(bearer.AllowFailed))...)
	var seen *bearer.Error
	srv := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = bearer.ErrorFrom(r.Context())
	})))
	call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"iss": "https://elsewhere"})))
	// No WithIssuer: that token is fine. A bad signature is not.
	if seen != nil {
		t.Errorf("valid token has a failure reason: %v", seen)
	}
	call(t, srv.URL, bearerHeader(resign(t, bearertest.MustIssuer(bearertest.HS256), iss.MustMint(nil))))
	if seen == nil || !errors.Is(seen, bearer.ErrSignature) || seen.Status != 401 {
		t.Errorf("reason = %v", seen)
	}
}

func trim(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
