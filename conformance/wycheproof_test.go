package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/c2sp/wycheproof"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Outcomes of a vector, as the public API shows them.
const (
	accepted   = "accepted"  // a valid JWT: no vector's payload is one
	jwsValid   = "jws-valid" // the JWS verified; the payload is no claims set
	keyRefused = "key set refused"
)

// judge names what Verify's answer says about a vector.
func judge(t *testing.T, err error) string {
	t.Helper()
	var e *bearer.Error
	if err != nil && (!errors.As(err, &e) || !errors.Is(err, bearer.ErrInvalidToken) || e.Status != http.StatusUnauthorized) {
		t.Fatalf("refusal %v is not a 401 invalid_token *Error", err)
	}
	return judgeQuiet(err)
}

func judgeQuiet(err error) string {
	var e *bearer.Error
	switch {
	case err == nil:
		return accepted
	case !errors.As(err, &e):
		return "refused: " + err.Error()
	case errors.Is(err, bearer.ErrMalformed) && e.Description == "malformed claims":
		return jwsValid
	}
	return "refused: " + e.Description
}

// divergence is a vector that bearer answers otherwise than Wycheproof
// expects: got is the exact outcome, asserted; check, when set, asserts what
// makes the divergence right (the same JWS verifying through another public
// path, or the vector's data being what the reason says).
type divergence struct {
	got    string
	reason string
	check  func(t *testing.T, g group, tc vector)
}

// divergences lists every such vector, by file and tcId.
var divergences = map[string]divergence{
	"jws#372": {got: "refused: malformed token", reason: "RFC 7515 §2: base64url without any other characters; Wycheproof lets decoders ignore the '?' inserted in the header"},
	"jws#373": {got: "refused: malformed token", reason: "RFC 7515 §2: base64url without any other characters; Wycheproof lets decoders ignore the '?' inserted in the payload"},
	"jws#346": {got: "refused: algorithm not allowed", check: verifiesWithBareKey,
		reason: `RFC 7517 §4.4, RFC 8725 §3.1: the key's "alg" is PS256 and the token says PS384; bearer binds a key to its alg, Wycheproof does not`},
	"jws#350": {got: "refused: algorithm not allowed", check: verifiesWithBareKey,
		reason: `RFC 7517 §4.4, RFC 8725 §3.1: the key's "alg" is PS256 and the token says PS384; bearer binds a key to its alg, Wycheproof does not`},
	"jws#347": {got: keyRefused, check: verifiesWithBareKey,
		reason: `RFC 7518 §3.1: the key's "alg" is "ES521", which is no JWS algorithm (ES512 is); bearer skips keys with an unknown alg rather than guess`},
	"jws#351": {got: keyRefused, check: verifiesWithBareKey,
		reason: `RFC 7518 §3.1: the key's "alg" is "ES521", which is no JWS algorithm (ES512 is); bearer skips keys with an unknown alg rather than guess`},
	"jws#367": {got: jwsValid, check: paddingLost(".c1LROH7eNQwUT8KMVEO52VC3WZ9e_AnDWbZ7aMmowV8", ".c1LROH7eNQwUT8KMVEO52VC3WZ9e_AnDWbZ7aMmowV8="),
		reason: "the vector's data is byte for byte tcId 357 (valid): the padding its comment names is missing, so no verifier can call it both; the padded form is refused"},
	"jws#370": {got: jwsValid, check: paddingLost(".VGVzdA.", ".VGVzdA==."),
		reason: "the vector's data is byte for byte tcId 357 (valid): the padding its comment names is missing, so no verifier can call it both; the padded form is refused"},
	"jwk#1": {got: jwsValid,
		reason: "Wycheproof wants a set mixing symmetric and asymmetric keys refused (flagged Ambiguous); KeySetJSON is the application's own configuration and may hold both, each key bound to its own algorithms, so the HMAC key verifies its token"},
	"jwk#4": {got: jwsValid,
		reason: "Wycheproof wants a set with duplicate kids refused (flagged Ambiguous); bearer tries every key of that kid and accepts a signature any of them verifies, as key rotation needs"},
	"jwk#7": {got: jwsValid,
		reason: "Wycheproof wants the ROCA-weak key (CVE-2017-15361) refused; bearer does not fingerprint keys for ROCA, which is the key owner's to detect (the key is 2048 bits)"},
}

// validMAC357 is Wycheproof's tcId 357, "ValidMac".
const validMAC357 = "eyJraWQiOiJoczI1Ni1rZXkiLCJhbGciOiJIUzI1NiJ9.VGVzdA.c1LROH7eNQwUT8KMVEO52VC3WZ9e_AnDWbZ7aMmowV8"

// paddingLost checks that the vector is tcId 357 unchanged, and that the
// padding it meant to test (from replaced by to) is refused.
func paddingLost(from, to string) func(t *testing.T, g group, tc vector) {
	return func(t *testing.T, g group, tc vector) {
		if tc.JWS != validMAC357 {
			t.Fatalf("the vector changed: %q; revisit this divergence", tc.JWS)
		}
		src, err := bearer.KeySetJSON(g.keySet())
		if err != nil {
			t.Fatal(err)
		}
		m, err := bearer.New(src, bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck(), bearer.WithExpiryOptional())
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		padded := strings.Replace(tc.JWS, from, to, 1)
		_, err = m.Verify(context.Background(), padded)
		if got := judge(t, err); got != "refused: malformed token" {
			t.Errorf("padded %q: %s, want refused: malformed token", padded, got)
		}
	}
}

// verifiesWithBareKey verifies the vector with the group's key material
// alone, through PublicKey, without the JWK's "alg".
func verifiesWithBareKey(t *testing.T, g group, tc vector) {
	var fields map[string]any
	if err := json.Unmarshal(g.jwk(), &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "alg") // the point: the material alone, not its binding
	bare, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.ParseKey(bare)
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		t.Fatal(err)
	}
	m, err := bearer.New(bearer.PublicKey(raw), bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck(), bearer.WithExpiryOptional())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Verify(context.Background(), tc.JWS)
	if got := judge(t, err); got != jwsValid {
		t.Errorf("with the bare key: %s, want %s", got, jwsValid)
	}
}

// skips are vectors not run, each with its reason. There are none today;
// the list is printed with the counts, so that a skip is never silent.
var skips = map[string]string{}

type vectorFile struct {
	NumberOfTests int     `json:"numberOfTests"`
	TestGroups    []group `json:"testGroups"`
}

type group struct {
	Comment string          `json:"comment"`
	Private json.RawMessage `json:"private"`
	Public  json.RawMessage `json:"public"`
	Tests   []vector        `json:"tests"`
}

type vector struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	JWS     string   `json:"jws"`
	Result  string   `json:"result"`
	Flags   []string `json:"flags"`
}

// jwk returns the group's verification key: the public one, or the private
// one where only that is given (HMAC).
func (g group) jwk() []byte {
	if len(g.Public) > 0 {
		return g.Public
	}
	return g.Private
}

// keySet returns the group's key as a JWKS document: the JWK files give
// sets, the JWS file single keys.
func (g group) keySet() []byte {
	k := g.jwk()
	if strings.Contains(string(k), `"keys"`) {
		return k
	}
	return []byte(`{"keys":[` + string(k) + `]}`)
}

// TestWycheproof runs every JWS and JWK vector through KeySetJSON, New and
// Verify. No invalid vector may verify, even at the JWS layer; every valid
// one must verify at the JWS layer; the divergences above are asserted
// exactly.
func TestWycheproof(t *testing.T) {
	counts := map[string]int{}
	for _, file := range []struct{ prefix, name string }{
		{"jws", "json_web_signature_test.json"},
		{"jwk", "json_web_key_test.json"},
	} {
		data, err := fs.ReadFile(wycheproof.TestVectors, file.name)
		if err != nil {
			t.Fatal(err)
		}
		var vf vectorFile
		if err := json.Unmarshal(data, &vf); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range vf.TestGroups {
			n += len(g.Tests)
			runGroup(t, file.prefix, g, counts)
		}
		if n != vf.NumberOfTests || n == 0 {
			t.Fatalf("%s: read %d vectors, the file announces %d", file.name, n, vf.NumberOfTests)
		}
		counts["vectors"] += n
	}
	var skipped []string
	for id, reason := range skips {
		skipped = append(skipped, id+": "+reason)
	}
	sort.Strings(skipped)
	fmt.Printf("wycheproof: %d vectors: %d valid at the JWS layer, %d refused, %d divergences, %d skipped %v\n",
		counts["vectors"], counts[jwsValid], counts["refused"], counts["divergence"], len(skips), skipped)
	if counts[jwsValid]+counts["refused"]+counts["divergence"]+counts["skipped"] != counts["vectors"] {
		t.Errorf("counts do not add up: %v", counts)
	}
}

func runGroup(t *testing.T, prefix string, g group, counts map[string]int) {
	src, err := bearer.KeySetJSON(g.keySet())
	if err != nil {
		t.Fatalf("%s group %s: %v", prefix, g.Comment, err)
	}
	m, newErr := bearer.New(src, bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck(), bearer.WithExpiryOptional())
	if newErr == nil {
		defer m.Close()
	} else if !errors.Is(newErr, bearer.ErrNoUsableKey) {
		t.Fatalf("%s group %s: New: %v", prefix, g.Comment, newErr)
	}
	for _, tc := range g.Tests {
		id := fmt.Sprintf("%s#%d", prefix, tc.TcID)
		t.Run(fmt.Sprintf("%s_%s_%s", id, g.Comment, tc.Comment), func(t *testing.T) {
			if reason, ok := skips[id]; ok {
				counts["skipped"]++
				t.Skip(reason)
			}
			got := keyRefused
			if newErr == nil {
				_, err := m.Verify(context.Background(), tc.JWS)
				got = judge(t, err)
			}
			if d, ok := divergences[id]; ok {
				counts["divergence"]++
				if got != d.got {
					t.Errorf("%s (a known divergence: %s), want %s", got, d.reason, d.got)
				}
				if d.check != nil {
					d.check(t, g, tc)
				}
				return
			}
			switch tc.Result {
			case "valid":
				counts[jwsValid]++
				if got != jwsValid {
					t.Errorf("valid vector: %s, want %s (%s)", got, jwsValid, tc.Flags)
				}
			case "invalid":
				counts["refused"]++
				if got == jwsValid || got == accepted {
					t.Errorf("invalid vector: %s (%s)", got, tc.Flags)
				}
			default:
				t.Fatalf("result %q", tc.Result)
			}
		})
	}
}
