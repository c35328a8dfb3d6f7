package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// jwkJSON returns key as a JWK with the given extra members.
func jwkJSON(t *testing.T, key any, members map[string]any) json.RawMessage {
	t.Helper()
	k, err := jwk.Import(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keySet(keys ...json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func TestKeySetJSON(t *testing.T) {
	rs := bearertest.MustIssuer(bearertest.RS256)
	ps := bearertest.MustIssuer(bearertest.PS256)
	es := bearertest.MustIssuer(bearertest.ES256)
	ed := bearertest.MustIssuer(bearertest.EdDSA)
	ctx := context.Background()

	doc := keySet(
		jwkJSON(t, rs.PublicKey(), map[string]any{"kid": rs.KeyID(), "alg": "RS256", "use": "sig"}),
		// The same RSA key as ps's, but bound to RS256: PS256 tokens must fail.
		jwkJSON(t, ps.PublicKey(), map[string]any{"kid": ps.KeyID(), "alg": "RS256"}),
		// A private key: only its public half is kept.
		jwkJSON(t, es.PrivateKey(), map[string]any{"kid": es.KeyID()}),
		jwkJSON(t, ed.PublicKey(), map[string]any{"kid": ed.KeyID(), "key_ops": []string{"verify"}}),
		// Skipped: an encryption key, a key for signing only, an unknown
		// key type, a weak RSA key, an alg that is not a signature algorithm.
		jwkJSON(t, bearertest.MustIssuer(bearertest.RS256).PublicKey(), map[string]any{"kid": "enc", "use": "enc"}),
		jwkJSON(t, bearertest.MustIssuer(bearertest.ES256).PublicKey(), map[string]any{"kid": "signonly", "key_ops": []string{"sign"}}),
		json.RawMessage(`{"kty":"XYZ","kid":"unknown","crv":"nope"}`),
		json.RawMessage(`{"kty":"RSA","kid":"weak","e":"AQAB","n":"`+base64.RawURLEncoding.EncodeToString(weakRSA(t).N.Bytes())+`"}`),
		jwkJSON(t, bearertest.MustIssuer(bearertest.RS256).PublicKey(), map[string]any{"kid": "wrap", "alg": "RSA-OAEP"}),
	)
	m := newMiddleware(t, mustKeySet(t, doc), anyIssuerAnyAudience()...)

	for _, iss := range []*bearertest.Issuer{rs, es, ed} {
		if _, err := m.Verify(ctx, iss.MustMint(nil)); err != nil {
			t.Errorf("%s: %v", iss.Algorithm(), err)
		}
	}
	if _, err := m.Verify(ctx, ps.MustMint(nil)); !errors.Is(err, bearer.ErrAlgorithm) {
		t.Errorf("PS256 on a key bound to RS256: %v", err)
	}
	for _, kid := range []string{"enc", "signonly", "unknown", "weak", "wrap"} {
		tok := mintHeader(t, rs, map[string]any{"kid": kid}, nil)
		if _, err := m.Verify(ctx, tok); !errors.Is(err, bearer.ErrUnknownKey) {
			t.Errorf("kid %s: %v, want ErrUnknownKey", kid, err)
		}
	}
	// A token without kid is tried against the keys that allow its alg.
	if _, err := m.Verify(ctx, mintHeader(t, es, map[string]any{"kid": nil}, nil)); err != nil {
		t.Errorf("no kid: %v", err)
	}
}

func TestKeySetSharedKid(t *testing.T) {
	// Two keys under one kid (as during some providers' rotations): the
	// token verifies with whichever key signed it.
	a := bearertest.MustIssuer(bearertest.ES256)
	b := bearertest.MustIssuer(bearertest.EdDSA)
	doc := keySet(
		jwkJSON(t, a.PublicKey(), map[string]any{"kid": "shared"}),
		jwkJSON(t, b.PublicKey(), map[string]any{"kid": "shared"}),
	)
	m := newMiddleware(t, mustKeySet(t, doc), anyIssuerAnyAudience()...)
	for _, iss := range []*bearertest.Issuer{a, b} {
		if _, err := m.Verify(context.Background(), mintHeader(t, iss, map[string]any{"kid": "shared"}, nil)); err != nil {
			t.Errorf("%s: %v", iss.Algorithm(), err)
		}
	}
}

func TestKeySetSymmetric(t *testing.T) {
	hs := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, mustKeySet(t, hs.JWKS()), anyIssuerAnyAudience()...)
	verify(t, m, hs.MustMint(nil))

	short := keySet(jwkJSON(t, make([]byte, 16), map[string]any{"kid": "short"}))
	if _, err := bearer.New(mustKeySet(t, short), anyIssuerAnyAudience()...); !errors.Is(err, bearer.ErrNoUsableKey) {
		t.Errorf("short oct key: %v", err)
	}
}

func TestKeySetJSONErrors(t *testing.T) {
	for _, doc := range []string{``, `[]`, `{"keys":{}}`, `{"nokeys":[]}`, `{"keys":[` + strings.Repeat("1", 3)} {
		if _, err := bearer.KeySetJSON([]byte(doc)); err == nil {
			t.Errorf("KeySetJSON(%q) succeeded", doc)
		}
	}
	onlyEnc := keySet(jwkJSON(t, bearertest.MustIssuer(bearertest.RS256).PublicKey(), map[string]any{"use": "enc"}))
	if _, err := bearer.New(mustKeySet(t, onlyEnc), anyIssuerAnyAudience()...); !errors.Is(err, bearer.ErrNoUsableKey) {
		t.Errorf("only an encryption key: %v", err)
	}
}

func TestPublicKey(t *testing.T) {
	ctx := context.Background()
	t.Run("private key reduced to public", func(t *testing.T) {
		es := bearertest.MustIssuer(bearertest.ES256)
		m := newMiddleware(t, bearer.PublicKey(es.PrivateKey()), anyIssuerAnyAudience()...)
		if _, err := m.Verify(ctx, es.MustMint(nil)); err != nil {
			t.Error(err)
		}
	})
	t.Run("curve decides the algorithm", func(t *testing.T) {
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		m := newMiddleware(t, bearer.PublicKey(&p384.PublicKey), anyIssuerAnyAudience()...)
		es256 := bearertest.MustIssuer(bearertest.ES256)
		if _, err := m.Verify(ctx, es256.MustMint(nil)); !errors.Is(err, bearer.ErrAlgorithm) {
			t.Errorf("ES256 token on a P-384 key: %v", err)
		}
	})
	t.Run("RSA shorter than 2048 bits", func(t *testing.T) {
		if _, err := bearer.New(bearer.PublicKey(&weakRSA(t).PublicKey), anyIssuerAnyAudience()...); !errors.Is(err, bearer.ErrWeakKey) {
			t.Errorf("New: %v, want ErrWeakKey", err)
		}
	})
	t.Run("RSA key verifies RS and PS", func(t *testing.T) {
		rs := bearertest.MustIssuer(bearertest.RS256)
		m := newMiddleware(t, bearer.PublicKey(rs.PublicKey()), anyIssuerAnyAudience()...)
		verify(t, m, rs.MustMint(nil))
		m = newMiddleware(t, bearer.PublicKey(rs.PublicKey()), anyIssuerAnyAudience(bearer.WithAlgorithms("PS256"))...)
		if _, err := m.Verify(ctx, rs.MustMint(nil)); !errors.Is(err, bearer.ErrAlgorithm) {
			t.Errorf("RS256 with WithAlgorithms(PS256): %v", err)
		}
	})
}

// weakRSA is a 1024-bit key: rsa.GenerateKey refuses smaller ones, and
// this is small enough to be refused here.
func weakRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
