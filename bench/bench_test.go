package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerauth/bearer/bearertest"
)

func BenchmarkHS256(b *testing.B) { benchAll(b, bearertest.HS256) }
func BenchmarkRS256(b *testing.B) { benchAll(b, bearertest.RS256) }
func BenchmarkES256(b *testing.B) { benchAll(b, bearertest.ES256) }
func BenchmarkEdDSA(b *testing.B) { benchAll(b, bearertest.EdDSA) }

// benchAll runs the signature check alone ("floor") and every contender,
// each serving one request per iteration through its handler.
func benchAll(b *testing.B, alg bearertest.Algorithm) {
	f := newFixture(b, alg)
	b.Run("floor", func(b *testing.B) { benchFloor(b, f) })
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			h := c.new(b, f)
			if !c.bare {
				mustGuard(b, f, h)
			}
			serve(b, h, request(f.token))
		})
	}
}

// BenchmarkParallel serves requests from all cores at once: no lock on the
// hot path, so ns/op should fall with the core count.
func BenchmarkParallel(b *testing.B) {
	for _, alg := range algorithms {
		f := newFixture(b, alg)
		b.Run(f.alg, func(b *testing.B) {
			for _, c := range contenders {
				if c.name != "nethttp" && !strings.HasPrefix(c.name, "bearer") {
					continue
				}
				b.Run(c.name, func(b *testing.B) {
					h := c.new(b, f)
					r := request(f.token)
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							rec := httptest.NewRecorder()
							h.ServeHTTP(rec, r)
							if rec.Code != http.StatusNoContent {
								b.Errorf("status %d", rec.Code)
								return
							}
						}
					})
				})
			}
		})
	}
}

func serve(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// reportCPU adds cpu-ns/op, the process's CPU time per iteration, to a
// serial benchmark; call the function it returns when the loop is done.
// Wall time (ns/op) counts the time other processes hold the cores, so on a
// shared machine rows measured a minute apart are not comparable; CPU time
// mostly is. cmd/ratios prefers it.
func reportCPU(b *testing.B) func() {
	start, ok := cpuTime()
	return func() {
		end, _ := cpuTime()
		if ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchFloor is the raw signature check with the standard library, given
// the signing input and the decoded signature: no parsing, no claims, no
// HTTP. HMAC builds its state per check, as a verifier without pooling does.
func benchFloor(b *testing.B, f *fixture) {
	input, sig := f.signature.input, f.signature.sig
	var verify func() bool
	switch f.alg {
	case "HS256":
		verify = func() bool {
			h := hmac.New(sha256.New, f.secret)
			h.Write(input)
			return hmac.Equal(h.Sum(nil), sig)
		}
	case "RS256":
		verify = func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(f.rsa(), crypto.SHA256, d[:], sig) == nil
		}
	case "ES256":
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		verify = func() bool {
			d := sha256.Sum256(input)
			return ecdsa.Verify(f.ecdsa(), d[:], r, s)
		}
	case "EdDSA":
		verify = func() bool { return ed25519.Verify(f.ed25519(), input, sig) }
	}
	if !verify() {
		b.Fatal("floor: signature does not verify")
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if !verify() {
			b.Fatal("floor: signature does not verify")
		}
	}
}

// TestContenders runs in `make test`: every contender accepts the token and
// refuses the bad ones, so that no benchmark row is fast for skipping work.
func TestContenders(t *testing.T) {
	for _, alg := range algorithms {
		f := newFixture(t, alg)
		for _, c := range contenders {
			if c.bare {
				continue
			}
			t.Run(f.alg+"/"+c.name, func(t *testing.T) { mustGuard(t, f, c.new(t, f)) })
		}
	}
}
