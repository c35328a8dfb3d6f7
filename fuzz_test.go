package bearer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// The fuzz targets run in CI for a few seconds each (make fuzz); run them
// longer with, for example:
//
//	go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime 10m .
//
// Their keys are fixed (the RFC examples' keys) so that every fuzz worker
// verifies the seed tokens with the same keys.

// fuzzKeys are the keys of RFC 7515 A.1-A.3 and RFC 8037 A.1.
type fuzzKeys struct {
	now    time.Time
	secret []byte
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
}

func newFuzzKeys(t testing.TB) *fuzzKeys {
	t.Helper()
	dec := func(s string) []byte {
		b, err := b64u.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	num := func(s string) *big.Int { return new(big.Int).SetBytes(dec(s)) }
	k := &fuzzKeys{
		// RFC 7515 A.1-A.3 tokens expire at 1300819380.
		now:    time.Unix(1300819380, 0).Add(-time.Hour),
		secret: dec("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"),
		ed:     ed25519.NewKeyFromSeed(dec("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")),
	}
	k.rsa = &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: num(rfc7515RSA.n), E: 65537},
		D:         num(rfc7515RSA.d),
		Primes:    []*big.Int{num(rfc7515RSA.p), num(rfc7515RSA.q)},
	}
	if err := k.rsa.Validate(); err != nil {
		t.Fatal(err)
	}
	k.rsa.Precompute()
	var err error
	if k.ec, err = ecdsa.ParseRawPrivateKey(elliptic.P256(), dec("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")); err != nil {
		t.Fatal(err)
	}
	return k
}

// rfc7515RSA is the RSA key of RFC 7515 A.2.1.
var rfc7515RSA = struct{ n, d, p, q string }{
	n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
	d: "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
	p: "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
	q: "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
}

// rfcTokens are the JWS of RFC 7515 A.1-A.3 and RFC 8037 A.4, made with
// the keys of fuzzKeys.
var rfcTokens = []string{
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
	"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
}

// keySetJSON is the JWKS of k's public keys (and its secret).
func (k *fuzzKeys) keySetJSON() []byte {
	return jwks(jwkOct("hs", "HS256", k.secret), jwkRSA("rsa", "RS256", &k.rsa.PublicKey),
		jwkEC("ec", "ES256", &k.ec.PublicKey), jwkOKP("ed", k.ed.Public().(ed25519.PublicKey)))
}

// genuine returns tokens that k's sources accept, with and without kid.
func (k *fuzzKeys) genuine(t testing.TB) []string {
	claims := fmt.Sprintf(`{"sub":"alice","aud":["a","b"],"scope":"read write","iat":%d,"exp":%d,"https://example.com/roles":["x"],"n":{"deep":[1,2.5,null,"\u00e9"]}}`,
		k.now.Unix(), k.now.Add(time.Hour).Unix())
	return []string{
		jwt(t, "HS256", k.secret, `{"alg":"HS256","kid":"hs"}`, claims),
		jwt(t, "HS384", k.secret, `{"alg":"HS384"}`, claims),
		jwt(t, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa"}`, claims),
		jwt(t, "PS256", k.rsa, `{"alg":"PS256"}`, claims),
		jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"ec"}`, claims),
		jwt(t, "EdDSA", k.ed, `{"alg":"EdDSA","kid":"ed"}`, claims),
		jwt(t, "Ed25519", k.ed, `{"alg":"Ed25519"}`, claims),
	}
}

// FuzzVerify feeds arbitrary tokens to a middleware of each static key
// source. Nothing may panic; a refusal is an *Error whose description does
// not echo the token; an accepted token decodes, keeps its raw form, and
// carries a signature that the standard library verifies with the source's
// own key.
func FuzzVerify(f *testing.F) {
	k := newFuzzKeys(f)
	for _, tok := range append(append(rfcTokens, k.genuine(f)...), catalogueTokens(f)...) {
		f.Add(tok)
	}
	set, err := bearer.KeySetJSON(k.keySetJSON())
	if err != nil {
		f.Fatal(err)
	}
	sources := []struct {
		name string
		src  bearer.KeySource
		keys []any // what may have signed an accepted token
		opts []bearer.Option
	}{
		{"Secret", bearer.Secret(k.secret), []any{k.secret}, []bearer.Option{bearer.WithAlgorithms("HS256", "HS384", "HS512")}},
		{"PublicKey RSA", bearer.PublicKey(&k.rsa.PublicKey), []any{&k.rsa.PublicKey}, nil},
		{"PublicKey ECDSA", bearer.PublicKey(&k.ec.PublicKey), []any{&k.ec.PublicKey}, nil},
		{"PublicKey Ed25519", bearer.PublicKey(k.ed.Public()), []any{k.ed.Public()}, nil},
		{"KeySetJSON", set, []any{k.secret, &k.rsa.PublicKey, &k.ec.PublicKey, k.ed.Public()}, []bearer.Option{bearer.WithExpiryOptional()}},
	}
	type verifier struct {
		name string
		m    *bearer.Middleware
		keys []any
	}
	var verifiers []verifier
	for _, s := range sources {
		m, err := bearer.New(s.src, anyIssuerAnyAudience(append([]bearer.Option{bearer.WithClock(func() time.Time { return k.now })}, s.opts...)...)...)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { m.Close() })
		verifiers = append(verifiers, verifier{s.name, m, s.keys})
	}
	// The seeds must reach the acceptance path, or the properties below
	// would never be checked.
	for _, tok := range append(rfcTokens[:3:3], k.genuine(f)...) {
		accepted := false
		for _, v := range verifiers {
			_, err := v.m.Verify(context.Background(), tok)
			accepted = accepted || err == nil
		}
		if !accepted {
			f.Fatalf("no source accepts the genuine token %.60s", tok)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, v := range verifiers {
			tok, err := v.m.Verify(context.Background(), raw)
			if err != nil {
				var e *bearer.Error
				if !errors.As(err, &e) || !errors.Is(err, bearer.ErrInvalidToken) || e.Status != http.StatusUnauthorized {
					t.Fatalf("%s: refusal %v is not a 401 invalid_token *Error", v.name, err)
				}
				if len(raw) > bearer.DefaultMaxTokenSize && !errors.Is(err, bearer.ErrTooLarge) {
					t.Fatalf("%s: %d-byte token refused with %v, want ErrTooLarge", v.name, len(raw), err)
				}
				if len(raw) >= 8 && strings.Contains(e.Description, raw) {
					t.Fatalf("%s: description %q echoes the token", v.name, e.Description)
				}
				continue
			}
			if tok.Raw() != raw {
				t.Fatalf("%s: Raw() = %q, want the token", v.name, tok.Raw())
			}
			var claims map[string]any
			if err := tok.Decode(&claims); err != nil {
				t.Fatalf("%s: accepted token does not decode: %v", v.name, err)
			}
			if sub, ok := claims["sub"].(string); ok && sub != tok.Subject() {
				t.Fatalf("%s: Subject() = %q, claims say %q", v.name, tok.Subject(), sub)
			}
			if !signedByOneOf(raw, v.keys) {
				t.Fatalf("%s: accepted a token none of its keys signed: %q", v.name, raw)
			}
		}
	})
}

// catalogueTokens returns every token of the attack catalogue, as seeds.
func catalogueTokens(t testing.TB) []string {
	var toks []string
	for _, a := range attackCatalogue(t, sharedAtkKeys(), atkEnv{victim: &keyServer{url: "http://127.0.0.1:9"}, attacker: "http://127.0.0.1:9"}) {
		if a.token != "" {
			toks = append(toks, a.token)
		}
	}
	return toks
}

// signedByOneOf verifies raw's signature with the standard library alone,
// strictly decoded, under the alg its header names.
func signedByOneOf(raw string, keys []any) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	strict := base64.RawURLEncoding.Strict()
	header, err1 := strict.DecodeString(parts[0])
	sig, err2 := strict.DecodeString(parts[2])
	var h struct{ Alg string }
	if err1 != nil || err2 != nil || json.Unmarshal(header, &h) != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	for _, key := range keys {
		if verifiedBy(h.Alg, key, input, sig) {
			return true
		}
	}
	return false
}

func verifiedBy(alg string, key any, input, sig []byte) bool {
	if alg == "EdDSA" || alg == "Ed25519" {
		pub, ok := key.(ed25519.PublicKey)
		return ok && ed25519.Verify(pub, input, sig)
	}
	if len(alg) != 5 {
		return false
	}
	hash := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[2:]]
	if hash == 0 {
		return false
	}
	if alg[:2] == "HS" {
		secret, ok := key.([]byte)
		if !ok {
			return false
		}
		mac := hmac.New(hash.New, secret)
		mac.Write(input)
		return hmac.Equal(mac.Sum(nil), sig)
	}
	d := hash.New()
	d.Write(input)
	digest := d.Sum(nil)
	switch pub := key.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil
		case "PS":
			return rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if alg[:2] != "ES" || len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

// FuzzAuthorizationHeader feeds arbitrary Authorization values, zero, one
// or two of them, to the default extractor. It must find exactly the
// RFC 6750 §2.1 credentials: "Bearer" in any case, spaces, a b64token.
func FuzzAuthorizationHeader(f *testing.F) {
	for _, seed := range append([]string{"", "Bearer", "Bearer ", "bearer  abc.def.ghi", "BEARER a~b+c/d==", "Bearer\ta", "Bearerabc",
		"Basic dXNlcjpwYXNz", "Bearer a b", "Bearer =abc", "Bearer abc=d", "DPoP abc", "Bearer \x00", "Bearer é"}, rfcTokens...) {
		f.Add(seed, uint8(1))
	}
	f.Add("Bearer abc", uint8(0))
	f.Add("Bearer abc", uint8(2))
	extract := bearer.AuthorizationHeader()
	f.Fuzz(func(t *testing.T, value string, count uint8) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for range count % 3 {
			r.Header.Add("Authorization", value)
		}
		tok, err := extract(r)
		switch count % 3 {
		case 0:
			if !errors.Is(err, bearer.ErrNoToken) {
				t.Fatalf("no header: %q, %v", tok, err)
			}
			return
		case 2:
			if !errors.Is(err, bearer.ErrInvalidRequest) {
				t.Fatalf("two headers: %q, %v", tok, err)
			}
			return
		}
		isBearer := len(value) > 6 && strings.EqualFold(value[:6], "bearer") && value[6] == ' '
		want := ""
		if isBearer {
			want = strings.TrimLeft(value[7:], " ")
		}
		switch {
		case err == nil:
			if tok != want || !b64tokenSyntax.MatchString(tok) {
				t.Fatalf("%q: extracted %q", value, tok)
			}
		case errors.Is(err, bearer.ErrNoToken):
			if isBearer {
				t.Fatalf("%q: bearer credentials taken for no token", value)
			}
		case errors.Is(err, bearer.ErrInvalidRequest):
			if b64tokenSyntax.MatchString(want) {
				t.Fatalf("%q: valid credentials refused", value)
			}
		default:
			t.Fatalf("%q: %v is neither ErrNoToken nor ErrInvalidRequest", value, err)
		}
	})
}

// FuzzKeySetJSON feeds arbitrary JWKS documents to KeySetJSON and New. A
// document either fails cleanly or yields a middleware; that middleware
// accepts a genuine token only if the document holds the token's key.
func FuzzKeySetJSON(f *testing.F) {
	k := newFuzzKeys(f)
	for _, doc := range k.jwksSeeds(f) {
		f.Add(doc)
	}
	tokens := k.genuine(f)
	keys := []any{k.secret, &k.rsa.PublicKey, &k.ec.PublicKey, k.ed.Public()}
	f.Fuzz(func(t *testing.T, doc []byte) {
		src, err := bearer.KeySetJSON(doc)
		if err != nil {
			return
		}
		m, err := bearer.New(src, anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }))...)
		if err != nil {
			if !errors.Is(err, bearer.ErrNoUsableKey) {
				t.Fatalf("New: %v, want ErrNoUsableKey", err)
			}
			return
		}
		defer m.Close()
		for _, tok := range tokens {
			if _, err := m.Verify(context.Background(), tok); err == nil && !documentHolds(doc, keys) {
				t.Fatalf("a set without the signing key accepted %q", tok)
			}
		}
	})
}

// jwksSeeds are JWKS documents: k's own set, sets as bearertest's servers
// publish them, the same keys with their private halves, and odd ones.
func (k *fuzzKeys) jwksSeeds(t testing.TB) [][]byte {
	docs := [][]byte{k.keySetJSON(), jwks(
		withPrivate(jwkRSA("rsa", "RS256", &k.rsa.PublicKey), privateParams(k.rsa)),
		withPrivate(jwkEC("ec", "ES256", &k.ec.PublicKey), privateParams(k.ec)),
		withPrivate(jwkOKP("ed", k.ed.Public().(ed25519.PublicKey)), privateParams(k.ed)))}
	for _, alg := range []bearertest.Algorithm{bearertest.RS256, bearertest.PS256, bearertest.ES384, bearertest.ES512, bearertest.EdDSA} {
		iss, err := bearertest.NewIssuer(alg)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, iss.JWKS())
	}
	for _, doc := range []string{
		`{"keys":[]}`, `{"keys":null}`, `{}`, `[]`, `{"keys":[{}]}`, `{"keys":[1,"a",null,[]]}`,
		`{"keys":[{"kty":"oct","k":""}]}`, `{"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ","alg":"HS512"}]}`,
		`{"keys":[` + jwkEC("ec", "ES384", &k.ec.PublicKey) + `]}`,
		`{"keys":[` + strings.Replace(jwkRSA("rsa", "RS256", &k.rsa.PublicKey), `"use":"sig"`, `"use":"enc"`, 1) + `]}`,
		`{"keys":[` + strings.Replace(jwkEC("ec", "ES256", &k.ec.PublicKey), `"use":"sig"`, `"key_ops":["encrypt"]`, 1) + `]}`,
		`{"keys":[` + jwkOct("hs", "none", k.secret) + `,` + jwkOct("hs", "HS256", k.secret) + `]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}`,
		`{"keys":[{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"XYZ","kid":"future"},` + jwkEC("ec", "ES256", &k.ec.PublicKey) + `]}`,
	} {
		docs = append(docs, []byte(doc))
	}
	return docs
}

// inMemory is an http.RoundTripper that answers with a handler, without a
// connection, so that a remote source can fetch inside a synctest bubble.
type inMemory func(w http.ResponseWriter, r *http.Request)

func (h inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}

// fetches is an Observer that passes on the key source's fetch events.
type fetches struct {
	bearer.NopObserver
	c chan bearer.FetchEvent
}

func newFetches() fetches { return fetches{c: make(chan bearer.FetchEvent, 4)} }

// KeysFetched passes e on, or drops it when no one reads: a source may
// fetch once per key miss, and must not block on its observer.
func (f fetches) KeysFetched(e bearer.FetchEvent) {
	select {
	case f.c <- e:
	default:
	}
}

// next returns the next fetch event, or fails the test: a fetch never
// takes this long against an in-memory server, so it hangs.
func (f fetches) next(t *testing.T) bearer.FetchEvent {
	t.Helper()
	select {
	case e := <-f.c:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch result in 10s: the fetch hangs")
	}
	return bearer.FetchEvent{}
}

// FuzzRemoteJWKS serves arbitrary documents as a RemoteJWKS endpoint. Each
// input opens a middleware in a synctest bubble, which fetches the document
// once: the source has keys exactly when that fetch succeeds; a fetch never
// reports more keys than the document lists; an accepted token is never
// HMAC-signed (a remote set's symmetric keys are refused) and its key is in
// the document; requests cost at most one more fetch each (a key miss); after
// Close no goroutine is left (synctest.Test fails otherwise).
//
// The seeds are the documents of FuzzKeySetJSON. Wycheproof's JWK sets are
// not among them: the vectors stay out of the core module (conformance/
// runs them through KeySetJSON).
func FuzzRemoteJWKS(f *testing.F) {
	k := newFuzzKeys(f)
	for _, doc := range k.jwksSeeds(f) {
		f.Add(doc)
	}
	tokens := k.genuine(f)
	keys := []any{&k.rsa.PublicKey, &k.ec.PublicKey, k.ed.Public()}
	// serve checks one document and returns how many tokens it let in.
	serve := func(t *testing.T, doc []byte) (accepted int) {
		requests := 0
		client := &http.Client{Transport: inMemory(func(w http.ResponseWriter, r *http.Request) {
			requests++ // only the source's goroutine fetches
			w.Write(doc)
		})}
		events := newFetches()
		// A key wait longer than any cooldown: a token with a kid the set
		// lacks waits for a fetch that started after it (free in fake
		// time) and is refused as unknown, never as unavailable.
		m, err := bearer.New(bearer.RemoteJWKS("https://idp.example/jwks", bearer.RemoteHTTPClient(client), bearer.RemoteKeyWait(time.Hour)),
			anyIssuerAnyAudience(bearer.WithObserver(events), quiet, bearer.WithClock(func() time.Time { return k.now }))...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		e := events.next(t)
		synctest.Wait() // the event comes before the keys are published
		ready := m.Check(context.Background()) == nil
		if ready != (e.Err == nil) || ready != (e.Keys > 0) {
			t.Fatalf("Check says keys %v; the fetch found %d keys, error %v", ready, e.Keys, e.Err)
		}
		var set struct{ Keys []json.RawMessage }
		if json.Unmarshal(doc, &set) == nil && e.Keys+len(e.Skipped) > len(set.Keys) {
			t.Fatalf("%d keys and %d skipped from a document of %d", e.Keys, len(e.Skipped), len(set.Keys))
		}
		for _, tok := range tokens {
			_, err := m.Verify(context.Background(), tok)
			if err == nil {
				if !ready || strings.HasPrefix(headerAlg(tok), "HS") || !documentHolds(doc, keys) {
					t.Fatalf("accepted %.40q (keys %v) from %q", tok, ready, doc)
				}
				accepted++
				continue
			}
			var be *bearer.Error
			unavailable := errors.Is(err, bearer.ErrKeysUnavailable)
			if !errors.As(err, &be) || unavailable == ready || !unavailable && !errors.Is(err, bearer.ErrInvalidToken) {
				t.Fatalf("refusal %v with keys %v", err, ready)
			}
		}
		m.Close()
		// The first, one Check may ask for, one per token it refused.
		if max := 2 + len(tokens) - accepted; requests > max {
			t.Fatalf("%d fetches, want at most %d: the first, one for Check, one per key miss", requests, max)
		}
		return accepted
	}
	own := k.keySetJSON() // the first seed
	f.Fuzz(func(t *testing.T, doc []byte) {
		synctest.Test(t, func(t *testing.T) {
			if serve(t, doc) != 3 && bytes.Equal(doc, own) {
				t.Fatal("k's own set does not let in its RSA, EC and Ed25519 tokens: the properties go unchecked")
			}
		})
	})
}

// headerAlg returns the alg of tok's header.
func headerAlg(tok string) string {
	var h struct{ Alg string }
	json.Unmarshal(mustDecode(segment(tok, 0)), &h)
	return h.Alg
}

// FuzzDiscover serves arbitrary OpenID Connect discovery documents to
// Discover, and a fixed JWKS at any other URL, in a synctest bubble. Keys
// come only from a document that names exactly the configured issuer and
// an https jwks_uri, fetched at exactly that URL; tokens of other issuers
// are refused without a fetch; after Close no goroutine is left.
func FuzzDiscover(f *testing.F) {
	k := newFuzzKeys(f)
	const issuer = "https://idp.example"
	srv := bearertest.NewServer(bearertest.RS256)
	res, err := http.Get(srv.URL + bearertest.DiscoveryPath)
	if err != nil {
		f.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	srv.Close()
	good := []byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys"}`)
	f.Add(good)
	f.Add([]byte(strings.ReplaceAll(string(served), srv.URL, issuer)))
	for _, doc := range []string{
		`{"issuer":"https://idp.example","jwks_uri":"https://keys.example/idp/jwks.json","authorization_endpoint":"https://idp.example/auth","id_token_signing_alg_values_supported":["RS256"]}`,
		`{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https://evil.example","jwks_uri":"https://evil.example/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://idp.example/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://127.0.0.1/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":""}`,
		`{"issuer":"https://idp.example"}`,
		`{"issuer":null,"jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https://evil.example","issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https:\/\/idp.example","jwks_uri":"https://idp.example/k\u0065ys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"https://` + "\xbd" + `"}`,
		`{"issuer":"https://idp.example","jwks_uri":"https://://idp.example/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"https://idp.example:/keys#k"}`,
		`[]`, `null`, `{"issuer":["https://idp.example"]}`,
		`{"issuer":"https://idp.example","jwks_uri":"hTtps://idp.example/keys"}`,
		`{"issuer":"https://idp.example","jwks_uri":"https://evil.example/keys","jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https://idp.example","Issuer":"https://evil.example","jwks_uri":"https://idp.example/keys"}`,
	} {
		f.Add([]byte(doc))
	}
	claims := func(iss string) string {
		return fmt.Sprintf(`{"iss":%q,"sub":"alice","exp":%d}`, iss, k.now.Add(time.Hour).Unix())
	}
	ours := jwt(f, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa"}`, claims(issuer))
	theirs := jwt(f, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa"}`, claims("https://evil.example"))
	keySet := k.keySetJSON()
	// discover checks one document and reports whether it led to keys.
	discover := func(t *testing.T, doc []byte) (ready bool) {
		var urls []string // only the source's goroutine fetches
		client := &http.Client{Transport: inMemory(func(w http.ResponseWriter, r *http.Request) {
			urls = append(urls, r.URL.String())
			if r.URL.String() == issuer+bearertest.DiscoveryPath {
				w.Write(doc)
				return
			}
			w.Write(keySet)
		})}
		events := newFetches()
		m, err := bearer.New(bearer.Discover(issuer, bearer.RemoteHTTPClient(client)), anyAudience(bearer.WithObserver(events), quiet, bearer.WithClock(func() time.Time { return k.now }))...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if e := events.next(t); e.Err == nil {
			events.next(t) // the discovery document led to the keys
		}
		synctest.Wait() // the event comes before the keys are published
		before := len(urls)
		_, errTheirs := m.Verify(context.Background(), theirs)
		fetched := len(urls)
		_, errOurs := m.Verify(context.Background(), ours)
		ready = m.Check(context.Background()) == nil
		m.Close()

		if !errors.Is(errTheirs, bearer.ErrIssuer) || fetched != before || len(urls) == 0 || urls[0] != issuer+bearertest.DiscoveryPath {
			t.Fatalf("another issuer's token: %v; fetches %q", errTheirs, urls)
		}
		if ready != (errOurs == nil) {
			t.Fatalf("keys %v, but the issuer's token: %v", ready, errOurs)
		}
		if !ready {
			if !errors.Is(errOurs, bearer.ErrKeysUnavailable) || len(urls) > 4 {
				t.Fatalf("no keys: the issuer's token %v, %d fetches (%q)", errOurs, len(urls), urls)
			}
			return false
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		err = json.Unmarshal(doc, &meta)
		// URL schemes are case-insensitive (RFC 3986 §3.1): "hTtps" is https.
		u, uerr := url.Parse(meta.JWKSURI)
		if err != nil || meta.Issuer != issuer || uerr != nil || u.Scheme != "https" {
			t.Fatalf("keys from the document %q (%v)", doc, err)
		}
		// The request is the document's URL as net/http sends it: escaped,
		// without an empty port or a fragment.
		if want, err := http.NewRequest(http.MethodGet, meta.JWKSURI, nil); err != nil || fetched != 2 || len(urls) != 2 || urls[1] != want.URL.String() {
			t.Fatalf("fetches %q, want the discovery document, then %s only", urls, meta.JWKSURI)
		}
		return true
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		synctest.Test(t, func(t *testing.T) {
			if !discover(t, doc) && bytes.Equal(doc, good) {
				t.Fatal("a good document leads to no keys: the properties go unchecked")
			}
		})
	})
}

// FuzzDPoPProof sends arbitrary DPoP proofs with a genuine DPoP-bound
// token. A refusal is a 401 whose challenges carry no control character
// and nothing of the proof; an accepted proof is signed, by the standard
// library's judgement, with the key the token is bound to, names the
// request's method, its URL (no userinfo, no encoded "/") and the token's
// hash, and is never accepted twice. The middleware's clock stands still
// (WithClock), and the replay cache goes by it too: no window closes and no
// id lapses, however long the fuzzing runs.
func FuzzDPoPProof(f *testing.F) {
	k := newFuzzKeys(f)
	now := time.Unix(1_900_000_000, 0) // the middleware's clock, for which the proofs are made
	const url = "https://api.example/orders"
	x, y := ecPoint(&k.ec.PublicKey)
	pub := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, b64u.EncodeToString(x), b64u.EncodeToString(y))
	sum := sha256.Sum256([]byte(pub)) // the RFC 7638 thumbprint: pub is in its form
	jkt := b64u.EncodeToString(sum[:])
	token := jwt(f, "HS256", k.secret, `{"alg":"HS256"}`,
		fmt.Sprintf(`{"sub":"alice","exp":%d,"cnf":{"jkt":%q}}`, now.Add(time.Hour).Unix(), jkt))
	ath := sha256.Sum256([]byte(token))
	proof := func(alg string, key any, jwk, typ string, claims map[string]any) string {
		payload := map[string]any{"jti": randomKid(), "htm": "GET", "htu": url, "iat": now.Unix(), "ath": b64u.EncodeToString(ath[:])}
		for name, v := range claims {
			payload[name] = v
		}
		return jwt(f, alg, key, `{"typ":"`+typ+`","alg":"`+alg+`","jwk":`+jwk+`}`, mustJSON(payload))
	}
	jti := randomKid()
	genuine := proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"jti": jti})
	for _, p := range []string{
		genuine, // accepted below before the fuzzing: a replay
		proof("ES256", k.ec, pub, "application/DPoP+JWT", nil),
		proof("ES256", k.ec, pub, "JWT", nil),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"htm": "POST"}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"htu": "https://api.example/admin"}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"ath": nil}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"iat": now.Add(time.Hour).Unix()}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"jti": ""}),
		proof("ES256", k.ec, withPrivate(pub, privateParams(k.ec)), "dpop+jwt", nil),
		proof("EdDSA", k.ed, jwkOKP("", k.ed.Public().(ed25519.PublicKey)), "dpop+jwt", nil),
		proof("RS256", k.rsa, jwkRSA("", "RS256", &k.rsa.PublicKey), "dpop+jwt", nil),
		proof("HS256", k.secret, jwkOct("", "HS256", k.secret), "dpop+jwt", nil),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"htu": "https://user@api.example/orders"}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"htu": "HTTPS://api.example:443/%6Frders"}),
		proof("ES256", k.ec, pub, "dpop+jwt", map[string]any{"htu": "https://api.example/orders%2F"}),
		token, "", "a.b.c",
	} {
		f.Add(p)
	}
	m, err := bearer.New(bearer.Secret(k.secret), anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return now }), bearer.WithDPoP(bearer.DPoP{}))...)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	request := func(p string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, url, nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", p)
		return r
	}
	if _, err := authenticate(m, request(genuine)); err != nil {
		f.Fatalf("a genuine proof is refused (%v): the properties would go unchecked", err)
	}
	seen := map[string]bool{jti: true} // the jti of each accepted proof
	f.Fuzz(func(t *testing.T, p string) {
		r := request(p)
		tok, err := authenticate(m, r)
		if err != nil {
			var e *bearer.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != bearer.CodeInvalidDPoPProof && e.Code != bearer.CodeInvalidToken {
				t.Fatalf("refusal %v is not a 401 invalid_dpop_proof or invalid_token", err)
			}
			if len(p) > bearer.DefaultMaxTokenSize && !errors.Is(err, bearer.ErrDPoPProof) {
				t.Fatalf("%d-byte proof refused with %v, want ErrDPoPProof", len(p), err)
			}
			h := http.Header{}
			m.SetErrorHeaders(h, r, err)
			for _, c := range h.Values("WWW-Authenticate") {
				if strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(p) >= 8 && strings.Contains(c, p) {
					t.Fatalf("challenge %q", c)
				}
			}
			return
		}
		var claims struct{ Jti, Htm, Htu, Ath string }
		var header struct{ Typ string }
		parts := strings.Split(p, ".")
		if tok.DPoPThumbprint() != jkt || !signedByOneOf(p, []any{&k.ec.PublicKey}) || len(parts) != 3 ||
			json.Unmarshal(mustDecode(parts[0]), &header) != nil || json.Unmarshal(mustDecode(parts[1]), &claims) != nil {
			t.Fatalf("accepted a proof not signed by the bound key: %q", p)
		}
		if !strings.EqualFold(strings.TrimPrefix(strings.ToLower(header.Typ), "application/"), "dpop+jwt") ||
			claims.Htm != http.MethodGet || !namesOrders(claims.Htu) || claims.Ath != b64u.EncodeToString(ath[:]) || claims.Jti == "" || seen[claims.Jti] {
			t.Fatalf("accepted the proof %q: header %+v, claims %+v, jti seen before %v", p, header, claims, seen[claims.Jti])
		}
		seen[claims.Jti] = true
	})
}

// namesOrders reports whether htu names https://api.example/orders, as
// RFC 3986 §6.2.2 and §6.2.3 allow it to be written: any case in scheme
// and host, the default port or none, escaped unreserved characters, any
// query and fragment.
func namesOrders(htu string) bool {
	u, err := url.Parse(htu)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, "https") {
		return false
	}
	host := strings.ToLower(u.Host)
	path, err := url.PathUnescape(u.EscapedPath())
	return (host == "api.example" || host == "api.example:" || host == "api.example:443") &&
		err == nil && path == "/orders" && strings.Count(u.EscapedPath(), "/") == 1
}

// documentHolds reports whether a JWKS document holds one of keys' public
// material, decoding as leniently as any JWK parser might. A document with
// private parameters counts as holding them: the public half may be
// derived.
func documentHolds(doc []byte, keys []any) bool {
	var set struct{ Keys []map[string]any }
	if json.Unmarshal(doc, &set) != nil {
		return true // unreadable here: make no claim
	}
	decode := func(v any) []byte {
		s, _ := v.(string)
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return b
			}
		}
		return nil
	}
	same := func(a, b []byte) bool { return new(big.Int).SetBytes(a).Cmp(new(big.Int).SetBytes(b)) == 0 }
	for _, jwk := range set.Keys {
		if _, ok := jwk["d"]; ok {
			return true
		}
		for _, key := range keys {
			switch key := key.(type) {
			case []byte:
				if m := decode(jwk["k"]); m != nil && string(m) == string(key) {
					return true
				}
			case *rsa.PublicKey:
				if m := decode(jwk["n"]); m != nil && same(m, key.N.Bytes()) {
					return true
				}
			case *ecdsa.PublicKey:
				x, _ := ecPoint(key)
				if m := decode(jwk["x"]); m != nil && same(m, x) {
					return true
				}
			case ed25519.PublicKey:
				if m := decode(jwk["x"]); m != nil && string(m) == string(key) {
					return true
				}
			}
		}
	}
	return false
}

// FuzzClaimsView signs arbitrary claims sets and holds what the verifier
// read (Subject, Issuer, ID, Audience, Scopes, DPoPThumbprint, Claim) to
// what a handler reads from the same token: Decode into a map, and
// ClaimsFrom into a struct with json tags. Where ClaimsFrom succeeds, each
// field holds what the verifier saw under the field's exact name; a
// handler must never see a value the verifier did not check.
func FuzzClaimsView(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	key := bearertest.MustDPoPKey(bearertest.ES256)
	jkt := key.Thumbprint()
	for _, seed := range []string{
		`{"sub":"alice","iss":"https://i","jti":"j","aud":["a","b"],"scope":"read write","tenant":"acme"}`,
		`{"sub":"alice","cnf":{"jkt":"` + jkt + `"},"act":{"sub":"bob","act":{"sub":"carol"}}}`,
		`{"Sub":"admin"}`, `{"\u017fub":"admin"}`, `{"sub":"alice","SUB":"admin"}`,
		`{"sub":"alice","cnf":{"jkt":"` + jkt + `","JKT":"x"}}`, `{"sub":"alice","cnf":{"jkt":"` + jkt + `","jkt":"x"}}`,
		`{"act":{"sub":"a","Sub":"b"}}`, `{"aud":"\u0061","scp":["x","y"],"n":[{"a":1},{"a":2}]}`,
		`{"scope":"a\u00a0b"}`, `{"sub":"\ud800","iss":"\ud83d\ude00"}`, `{"roles":"user admin","Tenant":"x"}`,
	} {
		f.Add(seed)
	}
	m, err := bearer.New(bearer.Secret(secret), anyIssuerAnyAudience(bearer.WithExpiryOptional(), bearer.WithDPoP(bearer.DPoP{}), quiet)...)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	const url = "http://example.com/r"
	authenticate := func(t testing.TB, payload string) (*bearer.Token, error) {
		tok := jwt(t, "HS256", secret, `{"alg":"HS256","typ":"JWT"}`, payload)
		r := httptest.NewRequest(http.MethodGet, url, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		v, err := authenticate(m, r)
		if errors.Is(err, bearer.ErrTokenBinding) {
			r.Header.Set("Authorization", "DPoP "+tok)
			r.Header.Set("DPoP", key.MustProof(http.MethodGet, url, tok))
			v, err = authenticate(m, r)
		}
		return v, err
	}
	if _, err := authenticate(f, `{"sub":"alice","cnf":{"jkt":"`+jkt+`"}}`); err != nil {
		f.Fatalf("the bound seed is refused: %v", err)
	}
	type handlerClaims struct {
		Iss    string `json:"iss"`
		Sub    string `json:"sub"`
		Jti    string `json:"jti"`
		Aud    any    `json:"aud"`
		Scope  any    `json:"scope"`
		Tenant any    `json:"tenant"`
		Cnf    *struct {
			Jkt string `json:"jkt"`
		} `json:"cnf"`
		Act any `json:"act"`
	}
	f.Fuzz(func(t *testing.T, payload string) {
		tok, err := authenticate(t, payload)
		if err != nil {
			return
		}
		var all map[string]any
		if err := tok.Decode(&all); err != nil {
			t.Fatalf("%s: accepted, but Decode into a map: %v", payload, err)
		}
		str := func(name string) string { s, _ := all[name].(string); return s }
		for _, c := range []struct{ name, verifier string }{
			{"sub", tok.Subject()}, {"iss", tok.Issuer()}, {"jti", tok.ID()},
		} {
			if c.verifier != str(c.name) {
				t.Fatalf("%s: the verifier read %s %q, Decode %q", payload, c.name, c.verifier, str(c.name))
			}
		}
		var aud []string
		switch a := all["aud"].(type) {
		case string:
			aud = []string{a}
		case []any:
			for _, s := range a {
				aud = append(aud, s.(string))
			}
		}
		if !slices.Equal(tok.Audience(), aud) {
			t.Fatalf("%s: Audience() = %q, Decode %q", payload, tok.Audience(), aud)
		}
		var scopes []string
		scope, ok := all["scope"]
		if !ok {
			scope = all["scp"]
		}
		switch s := scope.(type) {
		case string:
			for w := range strings.SplitSeq(s, " ") {
				if w != "" {
					scopes = append(scopes, w)
				}
			}
		case []any:
			for _, w := range s {
				if w != "" {
					scopes = append(scopes, w.(string))
				}
			}
		}
		if !slices.Equal(tok.Scopes(), scopes) {
			t.Fatalf("%s: Scopes() = %q, Decode %q", payload, tok.Scopes(), scopes)
		}
		cnf, _ := all["cnf"].(map[string]any)
		if jkt, _ := cnf["jkt"].(string); tok.DPoPThumbprint() != jkt {
			t.Fatalf("%s: DPoPThumbprint() = %q, Decode %q", payload, tok.DPoPThumbprint(), jkt)
		}
		for name, want := range all {
			if got, ok := tok.Claim(name); !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: Claim(%q) = %v, %v; Decode %v", payload, name, got, ok, want)
			}
		}
		c, err := bearer.ClaimsFrom[handlerClaims](bearer.NewContext(context.Background(), tok))
		if err != nil {
			return // refused: the handler sees nothing
		}
		if c.Sub != tok.Subject() || c.Iss != tok.Issuer() || c.Jti != tok.ID() {
			t.Fatalf("%s: ClaimsFrom read sub %q iss %q jti %q; the verifier %q %q %q", payload, c.Sub, c.Iss, c.Jti, tok.Subject(), tok.Issuer(), tok.ID())
		}
		if (c.Cnf != nil && c.Cnf.Jkt != tok.DPoPThumbprint()) || (c.Cnf == nil && tok.DPoPThumbprint() != "") {
			t.Fatalf("%s: ClaimsFrom read cnf %+v; DPoPThumbprint() %q", payload, c.Cnf, tok.DPoPThumbprint())
		}
		for name, got := range map[string]any{"aud": c.Aud, "scope": c.Scope, "tenant": c.Tenant, "act": c.Act} {
			if want, _ := tok.Claim(name); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: ClaimsFrom read %s %v; Claim says %v", payload, name, got, want)
			}
		}
	})
}
