package bearer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// unsigned builds a compact JWS from header and payload JSON with a
// signature that verifies nothing: for rejections decided before any
// signature check.
func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + enc([]byte("not a signature"))
}

// attrs returns the attributes of the records with message msg, one map
// per record, values as text.
func (l *logs) attrs(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		a := map[string]string{"level": r.Level.String()}
		r.Attrs(func(attr slog.Attr) bool {
			a[attr.Key] = attr.Value.String()
			return true
		})
		out = append(out, a)
	}
	return out
}

// all returns every record as text, for the checks that something is
// nowhere in the logs.
func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.records {
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(attr slog.Attr) bool {
			b.WriteString(" " + attr.Key + "=" + attr.Value.String())
			return true
		})
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRejectionsExplainedToTheOperatorOnly: each rejection's cause says
// what was expected and what arrived, in the error of Verify and in the
// log line of WithLogger; the client's answer (status, headers, body) keeps
// the fixed description and none of that detail.
func TestRejectionsExplainedToTheOperatorOnly(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	es := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock), bearertest.WithAudience("api"))
	rs := bearertest.MustIssuer(bearertest.RS256, bearertest.WithClock(clock))
	other := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock))
	hostile := strings.Repeat("A", 200) + "\x1b[31m\n"
	kid := es.KeyID()
	forged, err := other.MintWithHeader(map[string]any{"kid": kid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := es.MintWithHeader(map[string]any{"kid": "rotated-away"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(claims bearertest.Claims) string { return es.MustMint(claims) }
	// trust is the issuer and audience New requires, then opts.
	trust := func(iss, aud string, opts ...bearer.Option) []bearer.Option {
		return append([]bearer.Option{bearer.WithIssuer(iss), bearer.WithAudience(aud)}, opts...)
	}
	esTrust := trust(es.Issuer(), "api")
	rsTrust := trust(rs.Issuer(), bearertest.DefaultAudience)
	cases := []struct {
		name     string
		src      bearer.KeySource
		opts     []bearer.Option
		token    string
		sentinel error
		detail   string // in the cause
		received string // the value from the token, in the cause only
	}{
		{"issuer without its trailing slash", es.KeySource(), trust(es.Issuer()+"/", "api"), mint(nil), bearer.ErrIssuer,
			`iss "` + es.Issuer() + `" is not one of ["` + es.Issuer() + `/"]`, ""},
		{"no issuer", es.KeySource(), esTrust, mint(bearertest.Claims{"iss": nil}), bearer.ErrIssuer,
			`the token has no iss; want one of ["` + es.Issuer() + `"]`, ""},
		{"long issuer with control characters", es.KeySource(), esTrust, mint(bearertest.Claims{"iss": hostile}), bearer.ErrIssuer,
			`iss "` + strings.Repeat("A", 128) + `"… is not one of`, "AAAAAAAAAAAAAAAA"},
		{"foreign audience", es.KeySource(), trust(es.Issuer(), "orders"), mint(bearertest.Claims{"aud": []string{"billing", "crm"}}), bearer.ErrAudience,
			`aud ["billing" "crm"] names none of ["orders"]`, "billing"},
		{"many audiences", es.KeySource(), trust(es.Issuer(), "orders"), mint(bearertest.Claims{"aud": []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"}}), bearer.ErrAudience,
			`aud ["a1" "a2" "a3" "a4" "a5" "a6" "a7" "a8" and 2 more] names none of ["orders"]`, "a10"},
		{"no audience", es.KeySource(), trust(es.Issuer(), "orders"), mint(bearertest.Claims{"aud": nil}), bearer.ErrAudience,
			`the token has no aud; want one of ["orders"]`, ""},
		{"token type", es.KeySource(), trust(es.Issuer(), "api", bearer.WithTokenType("at+jwt")), mint(nil), bearer.ErrTokenType,
			`typ "JWT", want "at+jwt"`, ""},
		{"algorithm outside the allowlist", bearer.PublicKey(rs.PublicKey()), trust(rs.Issuer(), bearertest.DefaultAudience, bearer.WithAlgorithms("PS256")), rs.MustMint(nil), bearer.ErrAlgorithm,
			`alg RS256; allowed: PS256`, ""},
		{"alg none", es.KeySource(), esTrust, unsigned(`{"alg":"none"}`, `{}`), bearer.ErrAlgorithm,
			`alg "none" is not a signature algorithm this package verifies`, ""},
		{"unknown alg", es.KeySource(), esTrust, unsigned(`{"alg":"HS257"}`, `{}`), bearer.ErrAlgorithm,
			`alg "HS257" is not`, "HS257"},
		{"alg the key does not verify", rs.KeySource(), rsTrust, unsigned(`{"alg":"PS256","kid":"`+rs.KeyID()+`"}`, `{"iss":"`+rs.Issuer()+`"}`), bearer.ErrAlgorithm,
			`alg PS256, but the 1 key(s) for kid "` + rs.KeyID() + `" verify RS256`, ""},
		{"expired", es.KeySource(), esTrust, mint(bearertest.Claims{"exp": now.Add(-time.Hour).Unix()}), bearer.ErrExpired,
			`exp 2029-12-31T23:00:00Z, now 2030-01-01T00:00:00Z (leeway 30s)`, ""},
		{"not yet valid", es.KeySource(), esTrust, mint(bearertest.Claims{"nbf": now.Add(time.Hour).Unix()}), bearer.ErrNotYetValid,
			`nbf 2030-01-01T01:00:00Z, now 2030-01-01T00:00:00Z (leeway 30s)`, ""},
		{"issued in the future", es.KeySource(), esTrust, mint(bearertest.Claims{"iat": now.Add(time.Hour).Unix()}), bearer.ErrNotYetValid,
			`iat 2030-01-01T01:00:00Z, now 2030-01-01T00:00:00Z (leeway 30s)`, ""},
		{"missing claim", es.KeySource(), trust(es.Issuer(), "api", bearer.WithRequiredClaims("sub", "tenant")), mint(bearertest.Claims{"sub": "ann"}), bearer.ErrMissingClaim,
			`the token has no "tenant" claim`, ""},
		{"missing registered claim", es.KeySource(), trust(es.Issuer(), "api", bearer.WithRequiredClaims("jti")), mint(nil), bearer.ErrMissingClaim,
			`the token has no "jti" claim`, ""},
		{"unknown kid", es.KeySource(), esTrust, rotated, bearer.ErrUnknownKey,
			`kid "rotated-away" is not in the key set, which holds 1 key(s) with kids ["` + kid + `"]`, "rotated-away"},
		{"signature", es.KeySource(), esTrust, forged, bearer.ErrSignature,
			`no key of the 1 for kid "` + kid + `" and alg ES256 verifies it`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l logs
			opts := append([]bearer.Option{bearer.WithClock(clock), bearer.WithLogger(slog.New(&l)), bearer.WithRealm("api")}, c.opts...)
			m := newMiddleware(t, c.src, opts...)

			_, err := m.Verify(context.Background(), c.token)
			if !errors.Is(err, c.sentinel) || !errors.Is(err, bearer.ErrInvalidToken) || !strings.Contains(err.Error(), c.detail) {
				t.Errorf("Verify: %v\nwant %v with %q", err, c.sentinel, c.detail)
			}

			res := call(t, serve(t, m.Handler(whoami)).URL, bearerHeader(c.token))
			lines := l.attrs("bearer: token rejected")
			if len(lines) != 1 || lines[0]["level"] != "INFO" || !strings.Contains(lines[0]["cause"], c.detail) {
				t.Errorf("log lines %v, want one at INFO with the cause %q", lines, c.detail)
			}
			if res.status != 401 {
				t.Errorf("status %d", res.status)
			}
			answer := res.body
			for name, values := range res.header {
				answer += name + ": " + strings.Join(values, ", ") + "\n"
			}
			for _, secret := range []string{c.detail, c.received, "now 2030", "want", "\x1b"} {
				if secret != "" && strings.Contains(answer, secret) {
					t.Errorf("the answer has %q in it:\n%s", secret, answer)
				}
			}
			logged := l.all()
			for _, secret := range append([]string{c.token}, strings.Split(c.token, ".")[2], "\x1b", "\n ") {
				if strings.Contains(logged, secret) {
					t.Errorf("the log has the token, its signature or a control character in it:\n%s", logged)
				}
			}
		})
	}
}

// BenchmarkRejection measures the answers to bad tokens, whose causes are
// built on failure only: an expired token (after the signature check) and
// one of another issuer (before it).
//
//	go test -run '^$' -bench Rejection -benchmem .
func BenchmarkRejection(b *testing.B) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	for _, c := range []struct {
		name  string
		token string
	}{
		{"expired", iss.MustMint(bearertest.Claims{"exp": 1})},
		{"issuer", iss.MustMint(bearertest.Claims{"iss": "https://elsewhere.example"})},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithoutAudienceCheck())
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, c.token); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
