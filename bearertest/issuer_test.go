package bearertest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

func TestMintDefaults(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithIssuer("https://idp.test"),
		bearertest.WithAudience("api"), bearertest.WithTTL(10*time.Minute), bearertest.WithClock(func() time.Time { return now }))
	// No issuer or audience check: the test reads both, and mints tokens
	// without them.
	m, err := bearer.New(iss.KeySource(), bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck(),
		bearer.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	tok, err := m.Verify(context.Background(), iss.MustMint(bearertest.Claims{"sub": "alice"}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer() != "https://idp.test" || tok.Audience()[0] != "api" || tok.Subject() != "alice" ||
		!tok.IssuedAt().Equal(now) || !tok.Expiry().Equal(now.Add(10*time.Minute)) {
		t.Errorf("claims: %s %v %s %v %v", tok.Issuer(), tok.Audience(), tok.Subject(), tok.IssuedAt(), tok.Expiry())
	}
	if kid, _ := tok.Header("kid"); kid != iss.KeyID() {
		t.Errorf("kid %v, want %s", kid, iss.KeyID())
	}

	tok, err = m.Verify(context.Background(), iss.MustMint(bearertest.Claims{"aud": nil, "iss": nil, "iat": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer() != "" || tok.Audience() != nil || !tok.IssuedAt().IsZero() {
		t.Errorf("removed defaults still there: %q %v %v", tok.Issuer(), tok.Audience(), tok.IssuedAt())
	}
}

func TestRotateAndRetire(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	ctx := context.Background()
	oldKid := iss.KeyID()
	old := iss.MustMint(nil)
	newKid, err := iss.Rotate()
	if err != nil || newKid == oldKid || iss.KeyID() != newKid {
		t.Fatalf("Rotate: %q %v (old %q)", newKid, err, oldKid)
	}
	fresh := iss.MustMint(nil)

	both, _ := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	defer both.Close()
	for _, tok := range []string{old, fresh} {
		if _, err := both.Verify(ctx, tok); err != nil {
			t.Errorf("after Rotate: %v", err)
		}
	}

	if err := iss.Retire(newKid); err == nil {
		t.Error("Retire of the signing key succeeded")
	}
	if err := iss.Retire(oldKid); err != nil {
		t.Fatal(err)
	}
	after, _ := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	defer after.Close()
	if _, err := after.Verify(ctx, old); !errors.Is(err, bearer.ErrUnknownKey) {
		t.Errorf("token of a retired key: %v", err)
	}
	if _, err := after.Verify(ctx, fresh); err != nil {
		t.Errorf("token of the current key: %v", err)
	}
}

func TestUnsupportedAlgorithm(t *testing.T) {
	if _, err := bearertest.NewIssuer("none"); err == nil {
		t.Error("NewIssuer(none) succeeded")
	}
}
