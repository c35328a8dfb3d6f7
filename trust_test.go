package bearer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestNewRequiresAudienceAndIssuer: a key source that binds no issuer
// needs WithIssuer and WithAudience, or a waiver that names the risk, and
// the error says how to fix it (RFC 8725 §3.9, §3.10).
func TestNewRequiresAudienceAndIssuer(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	hmac := bearertest.MustIssuer(bearertest.HS256)
	set, err := bearer.KeySetJSON(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]bearer.KeySource{
		"Secret":     hmac.KeySource(),
		"PublicKey":  bearer.PublicKey(iss.PublicKey()),
		"KeySetJSON": set,
		"RemoteJWKS": bearer.RemoteJWKS("https://idp.example/jwks"),
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				name string
				opts []bearer.Option
				want string
			}{
				{"nothing", nil, "WithIssuer"},
				{"audience only", []bearer.Option{bearer.WithAudience("api")}, "WithoutIssuerCheck"},
				{"issuer only", []bearer.Option{bearer.WithIssuer("https://idp.example")}, "WithAudience"},
				{"audience waived only", []bearer.Option{bearer.WithoutAudienceCheck()}, "WithIssuer"},
				{"issuer waived only", []bearer.Option{bearer.WithoutIssuerCheck()}, "WithoutAudienceCheck"},
			} {
				m, err := bearer.New(src, c.opts...)
				if err == nil {
					m.Close()
					t.Fatalf("%s: New succeeded", c.name)
				}
				if !errors.Is(err, bearer.ErrConfig) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: %v, want ErrConfig naming %s", c.name, err, c.want)
				}
			}
			for _, opts := range [][]bearer.Option{
				{bearer.WithIssuer("https://idp.example"), bearer.WithAudience("api")},
				{bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck()},
			} {
				m, err := bearer.New(src, append(opts, quiet)...)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				m.Close()
			}
		})
	}
}

// TestBoundIssuersNeedAnAudience: Discover and Issuers bind the issuer, not
// the audience: WithAudience, an Audience for every TrustedIssuer, or the
// waiver.
func TestBoundIssuersNeedAnAudience(t *testing.T) {
	remote := bearer.RemoteJWKS("https://a.example/jwks")
	cases := []struct {
		name string
		keys bearer.KeySource
		opts []bearer.Option
		ok   bool
	}{
		{"Discover", bearer.Discover("https://a.example"), nil, false},
		{"Discover with audience", bearer.Discover("https://a.example"), []bearer.Option{bearer.WithAudience("api")}, true},
		{"Discover waived", bearer.Discover("https://a.example"), []bearer.Option{bearer.WithoutAudienceCheck()}, true},
		{"Issuers, one without audience", bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote, Audience: []string{"api"}},
			bearer.TrustedIssuer{Issuer: "https://b.example", Keys: remote},
		), nil, false},
		{"Issuers, each with its audience", bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote, Audience: []string{"api"}},
			bearer.TrustedIssuer{Issuer: "https://b.example", Keys: remote, Audience: []string{"api"}},
		), nil, true},
		{"Issuers with WithAudience", bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote},
		), []bearer.Option{bearer.WithAudience("api")}, true},
	}
	for _, c := range cases {
		m, err := bearer.New(c.keys, append(c.opts, quiet)...)
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			m.Close()
			continue
		}
		if err == nil {
			m.Close()
			t.Errorf("%s: New succeeded", c.name)
		} else if !errors.Is(err, bearer.ErrConfig) || !strings.Contains(err.Error(), "WithAudience") {
			t.Errorf("%s: %v, want ErrConfig naming WithAudience", c.name, err)
		}
	}
	if _, err := bearer.New(bearer.Issuers(
		bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote, Audience: []string{"api"}},
		bearer.TrustedIssuer{Issuer: "https://b.example", Keys: remote},
	), quiet); err == nil || !strings.Contains(err.Error(), `"https://b.example"`) {
		t.Errorf("the error names the issuer without audience: %v", err)
	}
}

// TestWaiversConflict: a waiver beside the check it waives is a mistake,
// not a choice between them.
func TestWaiversConflict(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	for name, c := range map[string]struct {
		keys bearer.KeySource
		opts []bearer.Option
	}{
		"issuer":   {iss.KeySource(), []bearer.Option{bearer.WithoutIssuerCheck(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience("api")}},
		"audience": {iss.KeySource(), []bearer.Option{bearer.WithIssuer(iss.Issuer()), bearer.WithoutAudienceCheck(), bearer.WithAudience("api")}},
		"Discover": {bearer.Discover("https://a.example"), []bearer.Option{bearer.WithoutIssuerCheck(), bearer.WithAudience("api")}},
		"profile":  {iss.KeySource(), []bearer.Option{bearer.WithIssuer(iss.Issuer()), bearer.WithoutAudienceCheck(), bearer.WithAccessTokenProfile()}},
	} {
		m, err := bearer.New(c.keys, append(c.opts, quiet)...)
		if err == nil {
			m.Close()
			t.Errorf("%s: New succeeded", name)
		} else if !errors.Is(err, bearer.ErrConfig) || !strings.Contains(err.Error(), "conflicts") {
			t.Errorf("%s: %v, want ErrConfig naming the conflict", name, err)
		}
	}
}

// TestWaivedChecksAcceptAnyIssuerAndAudience: the waivers do what their
// names say, over HTTP; without them the same tokens are refused.
func TestWaivedChecksAcceptAnyIssuerAndAudience(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	foreign := iss.MustMint(bearertest.Claims{"sub": "alice", "iss": "https://other.example", "aud": "another-api"})

	waived := newMiddleware(t, iss.KeySource(), bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck())
	if r := call(t, serve(t, waived.Handler(whoami)).URL, bearerHeader(foreign)); r.status != 200 {
		t.Fatalf("waived: %d %s", r.status, r.body)
	}
	checked := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	srv := serve(t, checked.Handler(whoami))
	if r := call(t, srv.URL, bearerHeader(foreign)); r.status != 401 || !strings.Contains(r.body, "issuer not accepted") {
		t.Fatalf("foreign iss: %d %s", r.status, r.body)
	}
	if r := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "alice", "aud": "another-api"}))); r.status != 401 || !strings.Contains(r.body, "audience not accepted") {
		t.Fatalf("foreign aud: %d %s", r.status, r.body)
	}
	if r := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "alice"}))); r.status != 200 {
		t.Fatalf("own token: %d %s", r.status, r.body)
	}
}
