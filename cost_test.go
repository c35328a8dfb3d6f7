package bearer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/internal/answertest"
)

// The benchmarks here put what an attacker can make the verifier do
// beside what a normal token costs: an unsigned token is refused at the
// signature, and what comes before it must cost about the same whatever
// the token holds.

// junkTokens returns forged HS256 tokens of at most 8 KiB (the default
// size limit), each filled with one shape of JSON that once cost more to
// read than its size says, beside a normal token of the same size.
func junkTokens(tb testing.TB, k *atkKeys) map[string]string {
	forge := func(header, payload string) string {
		tok := jwt(tb, "HS256", k.secret, header, payload)
		return flipLastSignatureByte(tok)
	}
	const hs = `{"alg":"HS256","typ":"JWT"}`
	// fill repeats unit, numbered by %d when it has one, between prefix
	// and suffix, as often as the token stays within the size limit.
	fill := func(prefix, unit, sep, suffix string, inHeader bool) string {
		var b strings.Builder
		b.WriteString(prefix)
		best := ""
		for i := 0; ; i++ {
			if i > 0 {
				b.WriteString(sep)
			}
			u := unit
			if strings.Contains(unit, "%d") {
				u = fmt.Sprintf(unit, i)
			}
			b.WriteString(u)
			var tok string
			if inHeader {
				tok = forge(b.String()+suffix, k.claims())
			} else {
				tok = forge(hs, b.String()+suffix)
			}
			if len(tok) > bearer.DefaultMaxTokenSize {
				return best
			}
			best = tok
		}
	}
	return map[string]string{
		"normal":            flipLastSignatureByte(sizedToken(tb, k, bearer.DefaultMaxTokenSize)),
		"escaped aud":       fill(`{"sub":"alice","aud":[`, `"\u0061"`, ",", `]}`, false),
		"escaped names":     fill(`{`, `"\u0061%d":1`, ",", `}`, false),
		"escaped scope":     fill(`{"sub":"alice","scope":[`, `"\u0061"`, ",", `]}`, false),
		"escaped header":    fill(`{"alg":"HS256",`, `"\u0061%d":1`, ",", `}`, true),
		"non-ASCII names":   fill(`{`, `"ſſſſ%d":1`, ",", `}`, false),
		"nested objects":    fill(`{"a":[`, `{"\u0061":1,"b":2}`, ",", `]}`, false),
		"escaped kid":       fill(`{"alg":"HS256","kid":"`, `\u0061`, "", `"}`, true),
		"surrogate escapes": fill(`{"sub":"`, `\ud83d\ude00`, "", `"}`, false),
		"nested names":      fill(`{"a":{`, `"\u0061%d":1`, ",", `}}`, false),
		"wide names":        fill(`{`, `"ｓｓ%d":1`, ",", `}`, false),
	}
}

// TestJunkAllocations: what comes before the signature check allocates
// a few dozen times at most whatever an 8 KiB token holds (buffers that
// grow by doubling). One allocation per escaped string (json.Unmarshal)
// or per member name made thousands.
func TestJunkAllocations(t *testing.T) {
	if answertest.RaceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k := sharedAtkKeys()
	m, err := bearer.New(bearer.Secret(k.secret), anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }), quiet)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, tok := range junkTokens(t, k) {
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := m.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrSignature) {
				t.Fatalf("%s: %v", name, err)
			}
		})
		if allocs > 64 {
			t.Errorf("%s: %v allocations before the signature check refused it", name, allocs)
		}
	}
}

// BenchmarkJunk verifies forged 8 KiB tokens: each shape of junk against
// a normal token of the same size, all refused at the signature.
func BenchmarkJunk(b *testing.B) {
	k := sharedAtkKeys()
	m, err := bearer.New(bearer.Secret(k.secret), anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }), quiet)...)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	toks := junkTokens(b, k)
	for _, name := range []string{"normal", "escaped aud", "escaped names", "escaped scope", "escaped header", "non-ASCII names", "nested objects", "escaped kid", "surrogate escapes", "nested names", "wide names"} {
		tok := toks[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrSignature) {
					b.Fatalf("%d bytes: %v", len(tok), err)
				}
			}
		})
	}
}

// tenKeys is a key set of ten RS256 keys, each with a kid, and the
// private key of the last one.
func tenKeys(tb testing.TB) (bearer.KeySource, *rsa.PrivateKey) {
	var jwksKeys []string
	var last *rsa.PrivateKey
	for i := range 10 {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		jwksKeys = append(jwksKeys, jwkRSA(fmt.Sprintf("k%d", i), "RS256", &key.PublicKey))
		last = key
	}
	ks, err := bearer.KeySetJSON(jwks(jwksKeys...))
	if err != nil {
		tb.Fatal(err)
	}
	return ks, last
}

// BenchmarkKidless verifies RS256 tokens without a kid against a set of
// ten RS256 keys: a forged one, and a genuine one signed by the last key;
// a token with a kid is the yardstick.
func BenchmarkKidless(b *testing.B) {
	k := sharedAtkKeys()
	ks, last := tenKeys(b)
	m, err := bearer.New(ks, anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }), quiet, bearer.WithTokenCache(0))...)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct{ name, header string }{
		{"kid", `{"alg":"RS256","kid":"k9"}`},
		{"no kid", `{"alg":"RS256"}`},
	} {
		tok := jwt(b, "RS256", last, c.header, k.claims())
		b.Run(c.name+"/forged", func(b *testing.B) {
			forged := flipLastSignatureByte(tok)
			for b.Loop() {
				m.Verify(context.Background(), forged)
			}
		})
		b.Run(c.name+"/genuine", func(b *testing.B) {
			for b.Loop() {
				m.Verify(context.Background(), tok)
			}
		})
	}
}
