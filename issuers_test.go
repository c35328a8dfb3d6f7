package bearer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// Two providers, each with its own keys and audience; a third issuer with
// static keys and the middleware's default audience.
func TestIssuers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newIdP(t, bearertest.ES256, bearertest.WithAudience("api-a"))
		b := newIdP(t, bearertest.RS256, bearertest.WithAudience("api-b"))
		static := bearertest.MustIssuer(bearertest.EdDSA, bearertest.WithIssuer("https://static.example"), bearertest.WithAudience("api"))
		m := newMiddleware(t, bearer.Issuers(
			bearer.TrustedIssuer{Keys: bearer.Discover(a.URL, bearer.RemoteHTTPClient(a.Client())), Audience: []string{"api-a"}},
			bearer.TrustedIssuer{Issuer: b.URL, Keys: bearer.RemoteJWKS(b.JWKSURL, bearer.RemoteHTTPClient(b.Client())), Audience: []string{"api-b"}},
			bearer.TrustedIssuer{Issuer: static.Issuer(), Keys: static.KeySource()},
		), bearer.WithAudience("api"), quiet)
		mustReady(t, m)

		wantOK(t, send(m, a.MustMint(bearertest.Claims{"sub": "from-a"})), "from-a")
		wantOK(t, send(m, b.MustMint(bearertest.Claims{"sub": "from-b"})), "from-b")
		wantOK(t, send(m, static.MustMint(bearertest.Claims{"sub": "from-static"})), "from-static")

		// Each issuer's audiences are its own.
		wantInvalid(t, send(m, a.MustMint(bearertest.Claims{"aud": "api-b"})), "audience not accepted")
		wantInvalid(t, send(m, b.MustMint(bearertest.Claims{"aud": "api-a"})), "audience not accepted")
		wantInvalid(t, send(m, a.MustMint(bearertest.Claims{"aud": "api"})), "audience not accepted")
		wantInvalid(t, send(m, static.MustMint(bearertest.Claims{"aud": "api-a"})), "audience not accepted")

		// A token of b claiming to be a's is looked up in a's keys only.
		bKeys := b.Keys.Requests()
		wantInvalid(t, send(m, b.MustMint(bearertest.Claims{"iss": a.URL, "aud": "api-a"})), "unknown signing key")
		if b.Keys.Requests() != bKeys {
			t.Fatal("b's keys were fetched for a token claiming a's issuer")
		}
	})
}

// A token of an issuer not trusted is refused before any key lookup: no
// fetch, even with a kid no source knows.
func TestUnknownIssuerNoFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newIdP(t, bearertest.ES256)
		b := newIdP(t, bearertest.ES256)
		m := newMiddleware(t, bearer.Issuers(
			bearer.TrustedIssuer{Keys: bearer.Discover(a.URL, bearer.RemoteHTTPClient(a.Client()))},
			bearer.TrustedIssuer{Issuer: b.URL, Keys: bearer.RemoteJWKS(b.JWKSURL, bearer.RemoteHTTPClient(b.Client()))},
		), anyAudience(quiet)...)
		single := newRemote(t, a, nil, anyAudience(bearer.WithIssuer(a.URL))...)
		mustReady(t, m)
		mustReady(t, single)
		evil := newIdP(t, bearertest.ES256, bearertest.WithIssuer("https://evil.example"))
		before := a.Keys.Requests() + b.Keys.Requests() + a.Discovery.Requests() + b.Discovery.Requests()
		for range 100 {
			tok := mustMintKid(t, evil, randomKid())
			wantInvalid(t, send(m, tok), "issuer not accepted")
			wantInvalid(t, send(single, tok), "issuer not accepted")
			if _, err := m.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrIssuer) || !errors.Is(err, bearer.ErrInvalidToken) {
				t.Fatalf("Verify: %v, want ErrIssuer", err)
			}
		}
		noIss, _ := a.MintWithHeader(map[string]any{"kid": randomKid()}, bearertest.Claims{"iss": nil})
		wantInvalid(t, send(m, noIss), "issuer not accepted")
		after := a.Keys.Requests() + b.Keys.Requests() + a.Discovery.Requests() + b.Discovery.Requests()
		if after != before {
			t.Fatalf("%d fetches for tokens of unknown issuers", after-before)
		}
	})
}

// Ready waits for every issuer's keys.
func TestIssuersReadyWaitsForAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newIdP(t, bearertest.ES256)
		b := newIdP(t, bearertest.ES256)
		b.Keys.Hang()
		m := newMiddleware(t, bearer.Issuers(
			bearer.TrustedIssuer{Issuer: a.URL, Keys: bearer.RemoteJWKS(a.JWKSURL, bearer.RemoteHTTPClient(a.Client()))},
			bearer.TrustedIssuer{Issuer: b.URL, Keys: bearer.RemoteJWKS(b.JWKSURL, bearer.RemoteHTTPClient(b.Client()))},
		), anyAudience(quiet)...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := m.Ready(ctx)
		if !errors.Is(err, bearer.ErrKeysUnavailable) || !strings.Contains(err.Error(), b.URL) {
			t.Fatalf("Ready: %v, want ErrKeysUnavailable naming %s", err, b.URL)
		}
		if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Check: %v", err)
		}
		wantOK(t, send(m, a.MustMint(bearertest.Claims{"sub": "a"})), "a") // a's tokens pass meanwhile
		b.Keys.Recover()
		mustReady(t, m)
	})
}

func TestIssuersConfigErrors(t *testing.T) {
	remote := bearer.RemoteJWKS("https://a.example/jwks")
	cases := []struct {
		name string
		keys bearer.KeySource
		opts []bearer.Option
	}{
		{"none", bearer.Issuers(), nil},
		{"no keys", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example"}), nil},
		{"no issuer", bearer.Issuers(bearer.TrustedIssuer{Keys: remote}), nil},
		{"twice", bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote},
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote},
		), nil},
		{"Discover of another issuer", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: bearer.Discover("https://b.example")}), nil},
		{"nested", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: bearer.Issuers()}), nil},
		// A nested Issuers that would open on its own: refused as nested.
		{"nested, valid inside", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: bearertest.MustIssuer(bearertest.ES256).KeySource()},
		)}), nil},
		{"empty audience", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote, Audience: []string{""}}), nil},
		{"bad source", bearer.Issuers(
			bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote},
			bearer.TrustedIssuer{Issuer: "https://b.example", Keys: bearer.RemoteJWKS("http://b.example/jwks")},
		), nil},
		{"WithIssuer of an untrusted issuer", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: remote}), []bearer.Option{bearer.WithIssuer("https://b.example")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := bearer.New(c.keys, anyAudience(append(c.opts, quiet)...)...)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}
