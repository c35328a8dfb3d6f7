package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
)

// attack is one row of the catalogue: a key configuration, a token an
// attacker sends, and the exact answer the library must give.
type attack struct {
	name  string
	ref   string // the CVE or RFC section the attack comes from
	keys  bearer.KeySource
	opts  []bearer.Option
	token string
	// trust are the issuer and audience options; nil waives both checks,
	// which New otherwise requires, for rows about other things.
	trust []bearer.Option

	// want is the sentinel Verify's error must match (errors.Is) and desc
	// the fixed error_description; a nil want means the token must be
	// accepted (control rows, which prove the harness can pass).
	want error
	desc string

	// newErr, when set, is what New must refuse the configuration with;
	// the row then sends no request.
	newErr error
	// cause, when set, is a further sentinel Verify's error must match:
	// the fetch failure behind a 503.
	cause error

	forbid []string         // more strings the answer must not contain
	check  func(*testing.T) // more assertions, after the request
}

// b64tokenSyntax is RFC 6750 §2.1's b64token: what a client may put after
// "Bearer ". Tokens outside it are refused by the extractor (400) before
// the verifier sees them.
var b64tokenSyntax = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// TestAttacks sends each hostile token of the catalogue through a real
// HTTP server wrapping Middleware.Handler and checks the exact status,
// WWW-Authenticate challenge and body, that nothing of the token or the
// keys leaks into the answer, and that Verify refuses the same token with
// the expected sentinel.
func TestAttacks(t *testing.T) {
	k := sharedAtkKeys()
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Write(jwks(jwkEC("attacker", "ES256", &k.ecAttacker.PublicKey)))
	}))
	defer attacker.Close()
	victim := &keyServer{}
	victimSrv := httptest.NewServer(victim)
	defer victimSrv.Close()
	victim.url = victimSrv.URL
	noFetch := func(t *testing.T) {
		if n := attackerHits.Load(); n != 0 {
			t.Errorf("the attacker's server got %d requests: a key URL in the token header, or a redirect, was followed", n)
		}
	}
	secrets := []string{string(k.secret), b64u.EncodeToString(k.secret), base64.StdEncoding.EncodeToString(k.secret), hex.EncodeToString(k.secret),
		b64u.EncodeToString(k.rsa.N.Bytes()), b64u.EncodeToString(k.rsa1024.N.Bytes())}
	for _, a := range attackCatalogue(t, k, atkEnv{victim: victim, attacker: attacker.URL, noFetch: noFetch}) {
		t.Run(a.name, func(t *testing.T) {
			if a.ref == "" {
				t.Fatal("every attack names its reference")
			}
			runAttack(t, k, a, append(secrets, a.forbid...))
		})
	}
	noFetch(t)
}

// atkEnv is where the catalogue's remote rows fetch: the victim's key
// server, the attacker's server, which must never be asked for anything,
// and noFetch, the check that it was not.
type atkEnv struct {
	victim   *keyServer
	attacker string
	noFetch  func(*testing.T)
}

// keyServer is the victim's identity provider of the remote rows: the
// catalogue publishes each JWKS or discovery document (or a redirect) at a
// path of its own, and the server counts the requests each path gets.
type keyServer struct {
	url    string
	mu     sync.Mutex
	routes map[string]http.Handler
	hits   map[string]int
}

func (s *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	h := s.routes[r.URL.Path]
	s.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

func (s *keyServer) route(path string, h http.Handler) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.routes == nil {
		s.routes, s.hits = map[string]http.Handler{}, map[string]int{}
	}
	s.routes[path] = h
	return s.url + path
}

// publish serves doc at path and returns its URL.
func (s *keyServer) publish(path string, doc []byte) string {
	return s.route(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
}

// redirect answers requests for path with a 302 to location.
func (s *keyServer) redirect(path, location string) string {
	return s.route(path, http.RedirectHandler(location, http.StatusFound))
}

// requests returns how many requests path got.
func (s *keyServer) requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// attackCatalogue returns the rows of TestAttacks; the fuzz targets take
// their tokens as seeds. The remote rows' key sources fetch from env's
// servers once a row opens them.
func attackCatalogue(t testing.TB, k *atkKeys, env atkEnv) []attack {
	attacker, noFetch := env.attacker, env.noFetch
	keySet := func(keys ...string) bearer.KeySource {
		src, err := bearer.KeySetJSON(jwks(keys...))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	rsaJWK := jwkRSA("rsa-1", "RS256", &k.rsa.PublicKey)
	ecJWK := jwkEC("ec-1", "ES256", &k.ec.PublicKey)
	edJWK := jwkOKP("ed-1", k.ed.Public().(ed25519.PublicKey))
	var (
		secretSrc = bearer.Secret(k.secret)
		rsaSrc    = bearer.PublicKey(&k.rsa.PublicKey)
		ecSrc     = bearer.PublicKey(&k.ec.PublicKey)
		ec384Src  = bearer.PublicKey(&k.ec384.PublicKey)
		ec521Src  = bearer.PublicKey(&k.ec521.PublicKey)
		edSrc     = bearer.PublicKey(k.ed.Public())
		asymSet   = keySet(rsaJWK, ecJWK, edJWK)
		mixedSet  = keySet(rsaJWK, ecJWK, edJWK, jwkOct("hs-1", "HS256", k.secret))
		weakSet   = keySet(jwkRSA("rsa-weak", "RS256", &k.rsa1024.PublicKey), rsaJWK)
	)

	const (
		hs256      = `{"alg":"HS256","typ":"JWT"}`
		malformed  = "malformed token"
		badClaims  = "malformed claims"
		badAlg     = "algorithm not allowed"
		badSig     = "signature invalid"
		unknownKid = "unknown signing key"
		noKeys     = "signing keys unavailable"
		critical   = "unsupported critical header"
		tooLarge   = "token too large"
		expired    = "token expired"
		notYet     = "token not yet valid"
	)
	claims := k.claims()
	hsTok := jwt(t, "HS256", k.secret, hs256, claims)
	rsTok := jwt(t, "RS256", k.rsa, `{"alg":"RS256"}`, claims)
	esTok := jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"ec-1"}`, claims)
	edTok := jwt(t, "EdDSA", k.ed, `{"alg":"EdDSA"}`, claims)
	hsKid := func(kid string) string { return `{"alg":"HS256","kid":` + mustJSON(kid) + `}` }
	forgedHS := func(header, payload string) string {
		return jwt(t, "HS256", []byte("not-the-secret-not-the-secret-32"), header, payload)
	}

	attacks := []attack{
		// Controls: genuine tokens pass, so every refusal below is the
		// attack's doing, not the harness's.
		{name: "control/HS256 Secret", ref: "RFC 7515 §A.1", keys: secretSrc, token: hsTok},
		{name: "control/RS256 PublicKey", ref: "RFC 7515 §A.2", keys: rsaSrc, token: rsTok},
		{name: "control/ES256 KeySetJSON", ref: "RFC 7515 §A.3", keys: asymSet, token: esTok},
		{name: "control/EdDSA PublicKey", ref: "RFC 8037 §A.4", keys: edSrc, token: edTok},
		{name: "control/HS256 oct key in KeySetJSON", ref: "RFC 7517 §6.4", keys: mixedSet, token: jwt(t, "HS256", k.secret, hsKid("hs-1"), claims)},
		{name: "control/RS256 weak set's strong key", ref: "RFC 7518 §3.3", keys: weakSet, token: jwt(t, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa-1"}`, claims)},

		// alg "none", stripped of its signature or carrying one.
		{name: "alg none/unsigned Secret", ref: "RFC 8725 §2.1, §3.1; CVE-2022-23540", keys: secretSrc,
			token: b64u.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64u.EncodeToString([]byte(claims)) + ".", want: bearer.ErrMalformed, desc: malformed},
		{name: "alg none/unsigned PublicKey", ref: "RFC 8725 §2.1, §3.1; CVE-2022-23540", keys: rsaSrc,
			token: b64u.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64u.EncodeToString([]byte(claims)) + ".", want: bearer.ErrMalformed, desc: malformed},

		// Algorithm confusion and alg/key-type mismatches: the key decides.
		{name: "mismatch/ES256 signature under an RSA kid", ref: "RFC 8725 §3.1; RFC 7517 §4.4", keys: asymSet,
			token: jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"rsa-1"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "mismatch/RS256 header on an EC key", ref: "RFC 8725 §3.1", keys: ecSrc,
			token: jwt(t, "RS256", k.rsaAttacker, `{"alg":"RS256"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "mismatch/EdDSA header on an RSA key", ref: "RFC 8725 §3.1", keys: rsaSrc,
			token: jwt(t, "EdDSA", k.ed, `{"alg":"EdDSA"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "mismatch/RS256 token for a Secret", ref: "RFC 8725 §3.1", keys: secretSrc,
			token: rsTok, want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "mismatch/genuine HMAC under an RSA kid", ref: "RFC 8725 §3.1; RFC 7517 §4.4", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, hsKid("rsa-1"), claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "mismatch/PS256 with a key whose alg is RS256", ref: "RFC 7517 §4.4; RFC 8725 §3.1", keys: asymSet,
			token: jwt(t, "PS256", k.rsa, `{"alg":"PS256","kid":"rsa-1"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "confusion/HS256 keyed with the RSA PEM, no kid, key set", ref: "RFC 8725 §2.1; CVE-2015-9235, CVE-2016-10555", keys: asymSet,
			token: jwt(t, "HS256", publicKeyForms(t, &k.rsa.PublicKey, rsaJWK)["PEM"], hs256, claims), want: bearer.ErrAlgorithm, desc: badAlg},

		// Keys embedded in or pointed at by the token are never used.
		{name: "embedded/jwk of the attacker under the victim's kid", ref: "RFC 8725 §3.10; CVE-2018-0114", keys: asymSet,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","kid":"ec-1","jwk":`+jwkEC("ec-1", "ES256", &k.ecAttacker.PublicKey)+`}`, claims), want: bearer.ErrSignature, desc: badSig},
		{name: "embedded/jwk of the attacker, no kid", ref: "RFC 8725 §3.10; CVE-2018-0114", keys: ecSrc,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","jwk":`+jwkEC("", "ES256", &k.ecAttacker.PublicKey)+`}`, claims), want: bearer.ErrSignature, desc: badSig},
		{name: "embedded/jwk RSA of the attacker", ref: "RFC 8725 §3.10; CVE-2018-0114", keys: rsaSrc,
			token: jwt(t, "RS256", k.rsaAttacker, `{"alg":"RS256","jwk":`+jwkRSA("a", "RS256", &k.rsaAttacker.PublicKey)+`}`, claims), want: bearer.ErrSignature, desc: badSig},
		{name: "embedded/jku to the attacker's set, attacker kid", ref: "RFC 8725 §3.10 (SSRF)", keys: asymSet, check: noFetch,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","kid":"attacker","jku":"`+attacker+`/jwks.json"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "embedded/jku to the attacker's set, victim kid", ref: "RFC 8725 §3.10 (SSRF)", keys: asymSet, check: noFetch,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","kid":"ec-1","jku":"`+attacker+`/jwks.json"}`, claims), want: bearer.ErrSignature, desc: badSig},
		{name: "embedded/x5u to the attacker", ref: "RFC 8725 §3.10 (SSRF); RFC 7515 §4.1.5", keys: ecSrc, check: noFetch,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","x5u":"`+attacker+`/cert.pem"}`, claims), want: bearer.ErrSignature, desc: badSig},
		{name: "embedded/x5c self-signed by the attacker", ref: "RFC 7515 §4.1.6; RFC 8725 §3.10", keys: ecSrc,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","x5c":["`+selfSigned(t, k.ecAttacker)+`"]}`, claims), want: bearer.ErrSignature, desc: badSig},

		// kid is a lookup key, never a path, a query or a prefix. The
		// tokens are signed with the genuine secret: only an exact kid
		// match may find it.
		{name: "kid/path traversal to an empty file", ref: "RFC 8725 §3.10", keys: mixedSet, forbid: []string{"dev/null"},
			token: jwt(t, "HS256", []byte{}, hsKid("../../../../../../dev/null"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/SQL injection", ref: "RFC 8725 §3.10", keys: mixedSet, forbid: []string{"UNION"},
			token: jwt(t, "HS256", k.secret, hsKid("x' UNION SELECT 'hs-1' --"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/very long", ref: "RFC 8725 §3.10", keys: mixedSet, forbid: []string{strings.Repeat("A", 64)},
			token: jwt(t, "HS256", k.secret, hsKid("hs-1"+strings.Repeat("A", 4000)), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/non-printable", ref: "RFC 8725 §3.10", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, hsKid("hs-\x01\x1b[2J\x7f1"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/null byte after a real kid", ref: "RFC 8725 §3.10", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, hsKid("hs-1\x00"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/case variant", ref: "RFC 7515 §4.1.4 (kid is case-sensitive)", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, hsKid("HS-1"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "kid/number instead of string", ref: "RFC 7515 §4.1.4", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","kid":1}`, claims), want: bearer.ErrMalformed, desc: malformed},

		// crit: no extension is understood, so every crit is refused.
		{name: "crit/unknown extension", ref: "RFC 7515 §4.1.11", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","crit":["exp"],"exp":1}`, claims), want: bearer.ErrUnsupportedHeader, desc: critical},
		{name: "crit/b64", ref: "RFC 7797 §3, §6", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","crit":["b64"],"b64":true}`, claims), want: bearer.ErrUnsupportedHeader, desc: critical},
		{name: "crit/empty list", ref: "RFC 7515 §4.1.11", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","crit":[]}`, claims), want: bearer.ErrUnsupportedHeader, desc: critical},

		// Non-canonical base64url, each signed over its own spelling so
		// that a lenient decoder would accept it.
		{name: "base64/padding in the header", ref: "RFC 7515 §2 (base64url without padding)", keys: secretSrc,
			token: signSegments(t, "HS256", k.secret, paddedSegment(`{"alg":"HS256"}`), b64u.EncodeToString([]byte(claims))), want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/padding after the signature", ref: "RFC 7515 §2", keys: secretSrc,
			token: hsTok + "=", want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/+ and / alphabet", ref: "RFC 7515 §2; RFC 4648 §5", keys: secretSrc,
			token: signSegments(t, "HS256", k.secret, stdAlphabetSegment(`{"alg":"HS256","x":"???>>>"}`), b64u.EncodeToString([]byte(claims))), want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/trailing bits in the signature", ref: "RFC 4648 §3.5 (canonical encoding)", keys: secretSrc,
			token: nonCanonicalTail(hsTok), want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/trailing bits in the payload", ref: "RFC 4648 §3.5", keys: secretSrc,
			token: signSegments(t, "HS256", k.secret, b64u.EncodeToString([]byte(hs256)), nonCanonicalTail(b64u.EncodeToString([]byte(unalignedClaims(k))))), want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/newline inside", ref: "RFC 7515 §2 (no line breaks or whitespace)", keys: secretSrc,
			token: hsTok[:20] + "\r\n" + hsTok[20:], want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/space inside", ref: "RFC 7515 §2", keys: secretSrc,
			token: hsTok[:20] + " " + hsTok[20:], want: bearer.ErrMalformed, desc: malformed},
		{name: "base64/tab inside", ref: "RFC 7515 §2", keys: secretSrc,
			token: hsTok[:20] + "\t" + hsTok[20:], want: bearer.ErrMalformed, desc: malformed},

		// Serializations other than one compact JWS.
		{name: "serialization/flattened JSON", ref: "RFC 7519 §1, §7.2; RFC 7515 §7.2.2", keys: secretSrc,
			token: mustJSON(map[string]string{"protected": segment(hsTok, 0), "payload": segment(hsTok, 1), "signature": segment(hsTok, 2)}), want: bearer.ErrMalformed, desc: malformed},
		{name: "serialization/general JSON", ref: "RFC 7519 §1, §7.2; RFC 7515 §7.2.1", keys: secretSrc,
			token: mustJSON(map[string]any{"payload": segment(hsTok, 1), "signatures": []map[string]string{{"protected": segment(hsTok, 0), "signature": segment(hsTok, 2)}}}), want: bearer.ErrMalformed, desc: malformed},
		{name: "serialization/nested JWS around an unsigned JWT", ref: "RFC 7519 §5.2, §7.2 step 8", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","cty":"JWT"}`, b64u.EncodeToString([]byte(`{"alg":"none"}`))+"."+b64u.EncodeToString([]byte(k.claims(`"admin":true`)))+"."), want: bearer.ErrMalformed, desc: badClaims},
		{name: "serialization/nested JWS around a genuine JWT", ref: "RFC 7519 §5.2, §7.2 step 8", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","cty":"JWT"}`, hsTok), want: bearer.ErrMalformed, desc: badClaims},
		{name: "serialization/JWE (5 parts)", ref: "RFC 7516 §7.1; RFC 8725 §3.11", keys: secretSrc,
			token: b64u.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ", want: bearer.ErrMalformed, desc: malformed},
		{name: "serialization/4 parts", ref: "RFC 7515 §7.1", keys: secretSrc,
			token: hsTok + ".e30", want: bearer.ErrMalformed, desc: malformed},

		// Duplicate member names, plain and escaped (RFC 8259 §4 leaves
		// them to the parser; JOSE says refuse).
		{name: "duplicate/alg none then HS256", ref: "RFC 7515 §5.2 step 4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"none","alg":"HS256"}`, claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "duplicate/alg HS256 then none", ref: "RFC 7515 §5.2 step 4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","alg":"none"}`, claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "duplicate/escaped alg", ref: "RFC 7515 §5.2 step 4; RFC 8259 §7", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","\u0061lg":"none"}`, claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "duplicate/kid", ref: "RFC 7515 §5.2 step 4", keys: mixedSet,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","kid":"hs-1","kid":"rsa-1"}`, claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "duplicate/exp in the claims", ref: "RFC 7519 §4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"exp":1`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/escaped exp in the claims", ref: "RFC 7519 §4; RFC 8259 §7", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"\u0065xp":1`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/sub in the claims", ref: "RFC 7519 §4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"sub":"admin"`)), want: bearer.ErrMalformed, desc: badClaims},

		// UTF-8 only: invalid bytes would read one way through Subject and
		// another through Decode, which replaces them.
		{name: "utf8/invalid UTF-8 in the header", ref: "RFC 7515 §5.2 step 3; RFC 8725 §3.7", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, "{\"alg\":\"HS256\",\"x\":\"\xff\"}", claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "utf8/invalid UTF-8 in the claims", ref: "RFC 7519 §7.2 step 10; RFC 8725 §3.7", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims("\"role\":\"admin\xc0\"")), want: bearer.ErrMalformed, desc: badClaims},

		// Size and depth.
		{name: "size/one byte over the default 8 KiB", ref: "CWE-400; docs/ARCHITECTURE.md size limit", keys: secretSrc,
			token: sizedToken(t, k, bearer.DefaultMaxTokenSize+1), want: bearer.ErrTooLarge, desc: tooLarge},
		{name: "size/exactly the default 8 KiB", ref: "docs/ARCHITECTURE.md size limit (control)", keys: secretSrc,
			token: sizedToken(t, k, bearer.DefaultMaxTokenSize)},
		{name: "size/one byte over WithMaxTokenSize", ref: "docs/ARCHITECTURE.md size limit", keys: secretSrc, opts: []bearer.Option{bearer.WithMaxTokenSize(2048)},
			token: sizedToken(t, k, 2049), want: bearer.ErrTooLarge, desc: tooLarge},
		{name: "size/exactly WithMaxTokenSize", ref: "docs/ARCHITECTURE.md size limit (control)", keys: secretSrc, opts: []bearer.Option{bearer.WithMaxTokenSize(2048)},
			token: sizedToken(t, k, 2048)},
		{name: "depth/header nested beyond the JSON limit", ref: "RFC 8259 §9", keys: secretSrc, opts: []bearer.Option{bearer.WithMaxTokenSize(1 << 20)},
			token: forgedHS(`{"alg":"HS256","x":`+nested(20000)+`}`, claims), want: bearer.ErrMalformed, desc: malformed},
		{name: "depth/claims nested beyond the JSON limit", ref: "RFC 8259 §9", keys: secretSrc, opts: []bearer.Option{bearer.WithMaxTokenSize(1 << 20)},
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"x":`+nested(20000))), want: bearer.ErrMalformed, desc: badClaims},
		{name: "depth/claims nested deep but legal", ref: "RFC 8259 §9 (control)", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"x":`+nested(2000)))},

		// NumericDate must be a JSON number; out-of-range numbers neither
		// wrap around nor overflow.
		{name: "numericdate/exp as a string", ref: "RFC 7519 §2, §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(fmt.Sprintf(`"exp":"%d"`, k.now.Add(time.Hour).Unix()))), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/exp as a bool", ref: "RFC 7519 §2, §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":true`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/exp in RFC 3339", ref: "RFC 7519 §2, §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":"2099-01-01T00:00:00Z"`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/exp null", ref: "RFC 7519 §2, §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":null`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/exp beyond float64", ref: "RFC 7519 §2; RFC 8259 §6", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":1e309`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/nbf as a bool", ref: "RFC 7519 §4.1.5", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"nbf":false`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "numericdate/nbf huge does not wrap into the past", ref: "RFC 7519 §4.1.5", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claims(`"nbf":9.3e18`)), want: bearer.ErrNotYetValid, desc: notYet},
		{name: "numericdate/iat huge does not wrap into the past", ref: "RFC 7519 §4.1.6", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, fmt.Sprintf(`{"sub":"alice","exp":%d,"iat":9.3e18}`, k.now.Add(time.Hour).Unix())), want: bearer.ErrNotYetValid, desc: "token issued in the future"},
		{name: "numericdate/exp hugely negative", ref: "RFC 7519 §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":-1e300`)), want: bearer.ErrExpired, desc: expired},
		{name: "numericdate/exp 0", ref: "RFC 7519 §4.1.4", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":0`)), want: bearer.ErrExpired, desc: expired},
		{name: "numericdate/exp 0 with WithExpiryOptional", ref: "RFC 7519 §4.1.4 (0 is a date, not an absence)", keys: secretSrc, opts: []bearer.Option{bearer.WithExpiryOptional()},
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout(`"exp":0`)), want: bearer.ErrExpired, desc: expired},
		{name: "numericdate/exp absent", ref: "RFC 9068 §2.2 (exp REQUIRED); docs/ARCHITECTURE.md", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, k.claimsWithout()), want: bearer.ErrMissingClaim, desc: "token has no expiry"},

		// ECDSA: psychic signatures, out-of-range scalars, wrong curves.
		{name: "ecdsa/r = s = 0", ref: "CVE-2022-21449", keys: ecSrc,
			token: withSignature(esTok, make([]byte, 64)), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/r = s = 0 on P-384", ref: "CVE-2022-21449", keys: ec384Src,
			token: withSignature(jwt(t, "ES384", k.ec384, `{"alg":"ES384"}`, claims), make([]byte, 96)), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/r = 0", ref: "CVE-2022-21449; SEC 1 §4.1.4", keys: ecSrc,
			token: psychic(esTok, k.ec, psyZero, psyKeep), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/s = 0", ref: "CVE-2022-21449; SEC 1 §4.1.4", keys: ecSrc,
			token: psychic(esTok, k.ec, psyKeep, psyZero), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/r = n", ref: "SEC 1 §4.1.4 step 1 (r in [1, n-1])", keys: ecSrc,
			token: psychic(esTok, k.ec, psyN, psyKeep), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/s = n", ref: "SEC 1 §4.1.4 step 1 (s in [1, n-1])", keys: ecSrc,
			token: psychic(esTok, k.ec, psyKeep, psyN), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/r = s = n", ref: "SEC 1 §4.1.4 step 1", keys: ecSrc,
			token: psychic(esTok, k.ec, psyN, psyN), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/r = s = 2^256 - 1", ref: "SEC 1 §4.1.4 step 1", keys: ecSrc,
			token: withSignature(esTok, []byte(strings.Repeat("\xff", 64))), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/ASN.1 DER instead of R||S", ref: "RFC 7518 §3.4", keys: ecSrc,
			token: derSignature(t, esTok, k.ec), want: bearer.ErrSignature, desc: badSig},
		{name: "ecdsa/ES256 signed on P-384", ref: "RFC 7518 §3.4; RFC 8725 §3.1", keys: ec384Src,
			token: jwt(t, "ES256", k.ec384, `{"alg":"ES256"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "ecdsa/ES384 header for a P-256 key", ref: "RFC 7518 §3.4; RFC 8725 §3.1", keys: ecSrc,
			token: jwt(t, "ES384", k.ec, `{"alg":"ES384"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "ecdsa/ES512 with a P-256-sized signature", ref: "RFC 7518 §3.4", keys: ec521Src,
			token: withSignature(jwt(t, "ES512", k.ec521, `{"alg":"ES512"}`, claims), signature(t, "ES256", k.ec, []byte("x"))), want: bearer.ErrSignature, desc: badSig},

		// Weak keys.
		{name: "rsa/1024-bit PublicKey", ref: "RFC 7518 §3.3; RFC 8725 §3.5", keys: bearer.PublicKey(&k.rsa1024.PublicKey), newErr: bearer.ErrWeakKey},
		{name: "rsa/1024-bit key set alone", ref: "RFC 7518 §3.3", keys: keySet(jwkRSA("rsa-weak", "RS256", &k.rsa1024.PublicKey)), newErr: bearer.ErrNoUsableKey},
		{name: "rsa/1024-bit key in a set is skipped", ref: "RFC 7518 §3.3", keys: weakSet,
			token: jwt(t, "RS256", k.rsa1024, `{"alg":"RS256","kid":"rsa-weak"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "hmac/secret shorter than the hash", ref: "RFC 7518 §3.2", keys: bearer.Secret(k.secret[:31]), newErr: bearer.ErrWeakKey},

		// Ed25519.
		{name: "ed25519/non-canonical S + L", ref: "RFC 8032 §5.1.7; RFC 8037 §3.1", keys: edSrc,
			token: withSignature(edTok, nonCanonicalEd25519(mustDecode(segment(edTok, 2)))), want: bearer.ErrSignature, desc: badSig},
		{name: "ed25519/all-zero signature", ref: "RFC 8032 §5.1.7", keys: edSrc,
			token: withSignature(edTok, make([]byte, 64)), want: bearer.ErrSignature, desc: badSig},

		// Tampering.
		{name: "tamper/payload", ref: "RFC 7515 §5.2 step 8", keys: rsaSrc,
			token: segment(rsTok, 0) + "." + b64u.EncodeToString([]byte(k.claims(`"admin":true`))) + "." + segment(rsTok, 2), want: bearer.ErrSignature, desc: badSig},
		{name: "tamper/alg RS256 relabelled PS256", ref: "RFC 7515 §5.2 step 8", keys: rsaSrc,
			token: b64u.EncodeToString([]byte(`{"alg":"PS256"}`)) + "." + segment(rsTok, 1) + "." + segment(rsTok, 2), want: bearer.ErrSignature, desc: badSig},
		{name: "tamper/forged token with malformed claims", ref: "RFC 7519 §7.2 (claims are read after step 7, the signature)", keys: secretSrc,
			token: forgedHS(hs256, `{"sub":"admin","exp":"never"}`), want: bearer.ErrSignature, desc: badSig},
		{name: "tamper/forged token with a payload that is not JSON", ref: "RFC 7519 §7.2", keys: secretSrc,
			token: forgedHS(hs256, "foo"), want: bearer.ErrSignature, desc: badSig},
		{name: "tamper/genuine JWS whose payload is not JSON", ref: "RFC 7519 §7.2 step 10", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, "foo"), want: bearer.ErrMalformed, desc: badClaims},
		{name: "tamper/genuine JWS with an empty payload", ref: "RFC 7519 §7.2 step 10", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, hs256, ""), want: bearer.ErrMalformed, desc: badClaims},
		{name: "tamper/stripped signature", ref: "RFC 7515 §7.1", keys: rsaSrc,
			token: segment(rsTok, 0) + "." + segment(rsTok, 1), want: bearer.ErrMalformed, desc: malformed},
		{name: "tamper/empty signature segment", ref: "RFC 7515 §7.1", keys: rsaSrc,
			token: segment(rsTok, 0) + "." + segment(rsTok, 1) + ".", want: bearer.ErrMalformed, desc: malformed},
		{name: "hmac/timing: last MAC byte wrong, compared in constant time", ref: "RFC 7518 §3.2 (constant-time comparison); CWE-208", keys: secretSrc,
			token: flipLastSignatureByte(hsTok), want: bearer.ErrSignature, desc: badSig, check: assertConstantTimeMAC},
	}

	// Remote key sets (RemoteJWKS, Discover) are the identity provider's
	// to fill, so whatever they hold is checked key by key: symmetric keys
	// are refused, and so are private keys (published, they are disclosed:
	// anyone could sign with them), encryption
	// keys and unknown key types skipped while the set's good keys serve.
	// Fetches go to the configured host only, never to one a token header
	// or a redirect names.
	idp := env.victim
	remote := func(path string, doc []byte, opts ...bearer.RemoteOption) bearer.KeySource {
		return bearer.RemoteJWKS(idp.publish(path, doc), opts...)
	}
	octSet := remote("/oct.json", jwks(rsaJWK, ecJWK, edJWK, jwkOct("hs-1", "HS256", k.secret),
		`{"kty":"oct","alg":"HS256","k":"`+b64u.EncodeToString(k.secret)+`"}`))
	privJWK := map[string]string{
		"RSA":     withPrivate(jwkRSA("priv-rsa", "RS256", &k.rsa.PublicKey), privateParams(k.rsa)),
		"EC":      withPrivate(jwkEC("priv-ec", "ES256", &k.ec.PublicKey), privateParams(k.ec)),
		"Ed25519": withPrivate(jwkOKP("priv-ed", k.ed.Public().(ed25519.PublicKey)), privateParams(k.ed)),
	}
	privSet := remote("/private.json", jwks(rsaJWK, privJWK["RSA"], privJWK["EC"], privJWK["Ed25519"]))
	encJWK := strings.Replace(jwkEC("ec-enc", "ES384", &k.ec384.PublicKey), `"use":"sig"`, `"use":"enc"`, 1)
	opsJWK := strings.Replace(jwkEC("ec-ops", "ES384", &k.ec384.PublicKey), `"use":"sig"`, `"key_ops":["deriveKey"]`, 1)
	encSet := remote("/enc.json", jwks(ecJWK, encJWK, opsJWK))
	oddSet := remote("/odd.json", jwks(rsaJWK, ecJWK,
		`{"kty":"XYZ","kid":"future","alg":"ES256","x":"`+b64u.EncodeToString(ecRaw(&k.ecAttacker.PublicKey))+`"}`,
		`{"kty":"OKP","kid":"x25519","crv":"X25519","x":"`+b64u.EncodeToString(k.ed.Public().(ed25519.PublicKey))+`"}`))
	victimSet := remote("/jwks.json", jwks(rsaJWK, ecJWK, edJWK))
	floodSet := remote("/flood.json", jwks(rsaJWK, ecJWK, edJWK), bearer.RemoteKeyMissCooldown(time.Hour))
	tenant := idp.url + "/tenant"
	idp.redirect("/tenant"+bearertest.DiscoveryPath, attacker+bearertest.DiscoveryPath)
	mixUp := idp.url + "/mixup"
	idp.publish("/mixup"+bearertest.DiscoveryPath, []byte(mustJSON(map[string]string{"issuer": attacker, "jwks_uri": attacker + "/jwks.json"})))
	attackerTok := func(header string) string { return jwt(t, "ES256", k.ecAttacker, header, claims) }

	attacks = append(attacks, []attack{
		{name: "control/remote set with oct keys: its ES256 key", ref: "RFC 7517 §5 (control)", keys: octSet, token: esTok},
		{name: "remote/oct key: HS256 with its secret under its kid", ref: "RFC 8725 §3.1; RFC 7517 §6.4; docs/ARCHITECTURE.md (remote keys)", keys: octSet,
			token: jwt(t, "HS256", k.secret, hsKid("hs-1"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/oct key: HS256 with its secret, no kid", ref: "RFC 8725 §3.1; RFC 7517 §6.4", keys: octSet,
			token: jwt(t, "HS256", k.secret, hs256, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "remote/oct key: HS256 with its secret under a kid the set lacks", ref: "RFC 8725 §3.1; RFC 7517 §4.5 (a key without kid)", keys: octSet,
			token: jwt(t, "HS256", k.secret, hsKid("any"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/oct key: HS256 with its secret under the EC kid", ref: "RFC 8725 §3.1", keys: octSet,
			token: jwt(t, "HS256", k.secret, hsKid("ec-1"), claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "remote/oct key: WithAlgorithms allowing HS256", ref: "RFC 8725 §3.1; docs/ARCHITECTURE.md (remote keys)", keys: octSet, opts: []bearer.Option{bearer.WithAlgorithms("HS256", "ES256")},
			token: jwt(t, "HS256", k.secret, hsKid("hs-1"), claims), want: bearer.ErrUnknownKey, desc: unknownKid},

		// A published private key is disclosed: a token it signed proves
		// nothing and is refused. (The check shows that a private key given
		// to PublicKey, the application's own, is kept as its public half
		// only.)
		{name: "control/remote set with private keys: its public key", ref: "RFC 7517 §5 (control)", keys: privSet,
			token: jwt(t, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa-1"}`, claims)},
		{name: "remote/published private RSA key: its token refused", ref: "RFC 7517 §9.2; RFC 8725 §3.10", keys: privSet, check: privateHalfDropped,
			token: jwt(t, "RS256", k.rsa, `{"alg":"RS256","kid":"priv-rsa"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/published private EC key: its token refused", ref: "RFC 7517 §9.2; RFC 8725 §3.10", keys: privSet,
			token: jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"priv-ec"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/published private Ed25519 key: its token refused", ref: "RFC 7517 §9.2; RFC 8725 §3.10", keys: privSet,
			token: jwt(t, "EdDSA", k.ed, `{"alg":"EdDSA","kid":"priv-ed"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},

		{name: "remote/use enc: ES384 by the encryption key under its kid", ref: "RFC 7517 §4.2", keys: encSet,
			token: jwt(t, "ES384", k.ec384, `{"alg":"ES384","kid":"ec-enc"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/key_ops deriveKey: ES384 by that key under its kid", ref: "RFC 7517 §4.3", keys: encSet,
			token: jwt(t, "ES384", k.ec384, `{"alg":"ES384","kid":"ec-ops"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/use enc: ES384 by the encryption key, no kid", ref: "RFC 7517 §4.2, §4.3", keys: encSet,
			token: jwt(t, "ES384", k.ec384, `{"alg":"ES384"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
		{name: "control/remote set with encryption keys: its signature key", ref: "RFC 7517 §4.2 (control)", keys: encSet, token: esTok},

		{name: "control/remote set with unknown key types: its RSA key", ref: "RFC 7517 §5 (control)", keys: oddSet,
			token: jwt(t, "RS256", k.rsa, `{"alg":"RS256","kid":"rsa-1"}`, claims)},
		{name: "remote/unknown kty: a token naming it", ref: "RFC 7517 §5 (ignore kty values not understood)", keys: oddSet,
			token: attackerTok(`{"alg":"ES256","kid":"future"}`), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/X25519 key (ECDH only): EdDSA under its kid", ref: "RFC 8037 §3.2; RFC 7517 §5", keys: oddSet,
			token: jwt(t, "EdDSA", k.ed, `{"alg":"EdDSA","kid":"x25519"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid},

		{name: "remote/jku to the attacker's set, attacker kid", ref: "RFC 8725 §3.10 (SSRF); RFC 7515 §4.1.2", keys: victimSet, check: noFetch,
			token: attackerTok(`{"alg":"ES256","kid":"attacker","jku":"` + attacker + `/jwks.json"}`), want: bearer.ErrUnknownKey, desc: unknownKid},
		{name: "remote/jku to the attacker's set, victim kid", ref: "RFC 8725 §3.10 (SSRF); RFC 7515 §4.1.2", keys: victimSet, check: noFetch,
			token: attackerTok(`{"alg":"ES256","kid":"ec-1","jku":"` + attacker + `/jwks.json"}`), want: bearer.ErrSignature, desc: badSig},
		{name: "remote/x5u to the attacker", ref: "RFC 8725 §3.10 (SSRF); RFC 7515 §4.1.5", keys: victimSet, check: noFetch,
			token: attackerTok(`{"alg":"ES256","x5u":"` + attacker + `/cert.pem"}`), want: bearer.ErrSignature, desc: badSig},

		// Made-up kids: fetches within the key-miss budget (a burst of 3,
		// then one per cooldown), whatever their number. The check counts
		// this row's fetches (the first, one per request: the cooldown is
		// an hour, the burst allows both), then floods an in-memory
		// provider with thousands over fake time.
		{name: "remote/flood of random kids: fetches within the key-miss budget", ref: "CWE-400; docs/ARCHITECTURE.md (remote keys)", keys: floodSet,
			token: jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"`+randomKid()+`"}`, claims), want: bearer.ErrUnknownKey, desc: unknownKid,
			check: func(t *testing.T) {
				if n := idp.requests("/flood.json"); n != 3 {
					t.Errorf("%d fetches for two requests with made-up kids, want 3 (the first, one per request)", n)
				}
				floodRandomKids(t)
			}},

		// Keys come from the configured host: a redirect elsewhere fails the
		// fetch, so no keys (503), and the attacker hears nothing.
		{name: "remote/JWKS redirects to another host", ref: "CWE-601; docs/ARCHITECTURE.md (remote keys)", keys: bearer.RemoteJWKS(idp.redirect("/moved.json", attacker+"/jwks.json")), check: noFetch,
			token: esTok, want: bearer.ErrKeysUnavailable, cause: bearer.ErrRedirect, desc: noKeys},
		{name: "remote/discovery redirects to another host", ref: "CWE-601; OpenID Connect Discovery 1.0 §4", keys: bearer.Discover(tenant), trust: []bearer.Option{bearer.WithoutAudienceCheck()}, check: noFetch,
			token: jwt(t, "ES256", k.ec, `{"alg":"ES256","kid":"ec-1"}`, k.claims(`"iss":`+mustJSON(tenant))), want: bearer.ErrKeysUnavailable, cause: bearer.ErrRedirect, desc: noKeys},
		{name: "remote/discovery names another issuer (mix-up): a token of that issuer", ref: "OpenID Connect Discovery 1.0 §4.3", keys: bearer.Discover(mixUp), trust: []bearer.Option{bearer.WithoutAudienceCheck()}, check: noFetch,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","kid":"attacker"}`, k.claims(`"iss":`+mustJSON(attacker))), want: bearer.ErrIssuer, desc: "issuer not accepted"},
		{name: "remote/discovery names another issuer (mix-up): a token of the configured issuer", ref: "OpenID Connect Discovery 1.0 §4.3", keys: bearer.Discover(mixUp), trust: []bearer.Option{bearer.WithoutAudienceCheck()}, check: noFetch,
			token: jwt(t, "ES256", k.ecAttacker, `{"alg":"ES256","kid":"attacker"}`, k.claims(`"iss":`+mustJSON(mixUp))), want: bearer.ErrKeysUnavailable, cause: bearer.ErrIssuerMismatch, desc: noKeys},
	}...)
	// HS256 keyed with each private value of a published key, under its
	// kid and without: a verifier that kept the private half as a secret
	// would accept them.
	for _, kty := range []string{"RSA", "EC", "Ed25519"} {
		key := map[string]any{"RSA": k.rsa, "EC": k.ec, "Ed25519": k.ed}[kty]
		kid := map[string]string{"RSA": "priv-rsa", "EC": "priv-ec", "Ed25519": "priv-ed"}[kty]
		forms := map[string][]byte{"private JWK JSON": []byte(privJWK[kty])}
		for name, v := range privateParams(key) {
			forms[name] = v
		}
		var forbid []string
		for _, v := range forms {
			forbid = append(forbid, b64u.EncodeToString(v))
		}
		for form, secret := range forms {
			attacks = append(attacks,
				attack{name: fmt.Sprintf("remote/private %s key: HS256 keyed with its %s under its kid", kty, form), ref: "RFC 7517 §9.2; RFC 8725 §3.1", keys: privSet, forbid: forbid,
					token: jwt(t, "HS256", secret, hsKid(kid), claims), want: bearer.ErrUnknownKey, desc: unknownKid},
				attack{name: fmt.Sprintf("remote/private %s key: HS256 keyed with its %s, no kid", kty, form), ref: "RFC 7517 §9.2; RFC 8725 §3.1", keys: privSet, forbid: forbid,
					token: jwt(t, "HS256", secret, hs256, claims), want: bearer.ErrAlgorithm, desc: badAlg})
		}
	}

	// alg "none" in every casing, carrying a genuine HMAC: the name is
	// matched exactly, so none of them is taken for an algorithm.
	for _, none := range []string{"none", "None", "NONE", "nOnE"} {
		attacks = append(attacks, attack{name: "alg none/" + none + " with a signature", ref: "RFC 7518 §3.6; RFC 8725 §3.1; CVE-2022-23540", keys: secretSrc,
			token: jwt(t, "HS256", k.secret, `{"alg":"`+none+`"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg})
	}
	// HS* keyed with the public key in every encoding, against the public
	// key itself and against a key set naming it by kid.
	type victim struct {
		name, kid string
		pub       any
		jwk       string
		src       bearer.KeySource
	}
	for _, v := range []victim{
		{"RSA", "rsa-1", &k.rsa.PublicKey, rsaJWK, rsaSrc},
		{"EC", "ec-1", &k.ec.PublicKey, ecJWK, ecSrc},
		{"Ed25519", "ed-1", k.ed.Public(), edJWK, edSrc},
	} {
		for form, secret := range publicKeyForms(t, v.pub, v.jwk) {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				attacks = append(attacks,
					attack{name: fmt.Sprintf("confusion/%s keyed with the %s %s, PublicKey", alg, v.name, form), ref: "RFC 8725 §2.1, §3.1; CVE-2015-9235, CVE-2016-10555", keys: v.src,
						token: jwt(t, alg, secret, `{"alg":"`+alg+`"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg},
					attack{name: fmt.Sprintf("confusion/%s keyed with the %s %s, KeySetJSON", alg, v.name, form), ref: "RFC 8725 §2.1, §3.1; CVE-2015-9235, CVE-2016-10555", keys: asymSet,
						token: jwt(t, alg, secret, `{"alg":"`+alg+`","kid":"`+v.kid+`"}`, claims), want: bearer.ErrAlgorithm, desc: badAlg})
			}
		}
	}

	return attacks
}

// runAttack configures a middleware for a, sends a's token over HTTP and
// to Verify, and checks both answers.
func runAttack(t *testing.T, k *atkKeys, a attack, forbidden []string) {
	opts := append([]bearer.Option{bearer.WithRealm("attack"), bearer.WithClock(func() time.Time { return k.now }), quiet}, a.opts...)
	// A header cannot carry control characters; such tokens travel in the
	// query, where the extractor applies the same b64token rule.
	viaQuery := strings.ContainsFunc(a.token, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
	if viaQuery {
		opts = append(opts, bearer.WithExtractor(bearer.FromQuery("access_token")))
	}
	trust := a.trust
	if trust == nil {
		trust = []bearer.Option{bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck()}
	}
	m, err := bearer.New(a.keys, append(trust, opts...)...)
	if a.newErr != nil {
		if !errors.Is(err, a.newErr) {
			t.Fatalf("New: got %v, want %v", err, a.newErr)
		}
		assertNoLeak(t, "New's error", err.Error(), forbidden)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+bearer.Subject(r.Context()))
	})))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if viaQuery {
		req.URL.RawQuery = url.Values{"access_token": {a.token}}.Encode()
	} else {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	wantStatus, wantChallenge, wantBody := http.StatusOK, "", "ok alice"
	switch {
	case a.want == nil:
	case !b64tokenSyntax.MatchString(a.token):
		wantStatus = http.StatusBadRequest
		wantChallenge = `Bearer realm="attack", error="invalid_request", error_description="malformed bearer credentials"`
		wantBody = `{"error":"invalid_request","error_description":"malformed bearer credentials"}` + "\n"
	case errors.Is(a.want, bearer.ErrKeysUnavailable):
		// The token may be fine: no challenge, and a time to come back.
		wantStatus = http.StatusServiceUnavailable
		wantBody = `{"error":"temporarily_unavailable","error_description":"` + a.desc + `"}` + "\n"
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q, want a number of seconds", resp.Header.Get("Retry-After"))
		}
	default:
		wantStatus = http.StatusUnauthorized
		wantChallenge = `Bearer realm="attack", error="invalid_token", error_description="` + a.desc + `"`
		wantBody = `{"error":"invalid_token","error_description":"` + a.desc + `"}` + "\n"
	}
	if resp.StatusCode != wantStatus {
		t.Errorf("status %d, want %d", resp.StatusCode, wantStatus)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, wantChallenge)
	}
	if string(body) != wantBody {
		t.Errorf("body %q, want %q", body, wantBody)
	}
	if a.want != nil {
		leak := []string{a.token}
		for _, s := range strings.FieldsFunc(a.token, func(r rune) bool { return r == '.' }) {
			if len(s) >= 16 {
				leak = append(leak, s)
			}
		}
		for name, values := range resp.Header {
			assertNoLeak(t, "header "+name, strings.Join(values, " "), append(leak, forbidden...))
		}
		assertNoLeak(t, "body", string(body), append(leak, forbidden...))
	}

	tok, err := m.Verify(context.Background(), a.token)
	switch {
	case a.want == nil && err != nil:
		t.Errorf("Verify: %v", err)
	case a.want == nil:
		if tok.Subject() != "alice" {
			t.Errorf("Verify: subject %q", tok.Subject())
		}
	case err == nil:
		t.Errorf("Verify accepted the token")
	default:
		// A 401 is an invalid token; a 503 is not: the token may be fine.
		status := http.StatusUnauthorized
		if errors.Is(a.want, bearer.ErrKeysUnavailable) {
			status = http.StatusServiceUnavailable
		}
		if !errors.Is(err, a.want) || errors.Is(err, bearer.ErrInvalidToken) != (status == http.StatusUnauthorized) {
			t.Errorf("Verify: %v, want errors.Is %v, and ErrInvalidToken for a 401 only", err, a.want)
		}
		if a.cause != nil && !errors.Is(err, a.cause) {
			t.Errorf("Verify: %v, want errors.Is %v too", err, a.cause)
		}
		var e *bearer.Error
		if !errors.As(err, &e) || e.Description != a.desc || e.Status != status {
			t.Errorf("Verify: %#v, want description %q and status %d", e, a.desc, status)
		}
	}
	if a.check != nil {
		a.check(t)
	}
}

// privateHalfDropped checks that a middleware keeps only the public half
// of the private keys it is given: each private key is garbage collected
// while the middleware, which still verifies the key's tokens, lives.
// Remote sets, key sets and PublicKey all reduce keys with one function
// (keyfunc.go:publicHalf); the private keys jwx parses from a remote set
// cannot be watched from outside, these can.
func privateHalfDropped(t *testing.T) {
	k := sharedAtkKeys()
	for _, c := range []struct {
		alg string
		gen func() (any, any) // the private key, and what to watch
	}{
		{"RS256", func() (any, any) { p, _ := rsa.GenerateKey(rand.Reader, 2048); return p, p }},
		{"ES256", func() (any, any) { p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return p, p }},
		{"EdDSA", func() (any, any) { _, p, _ := ed25519.GenerateKey(rand.Reader); return p, &p[0] }},
	} {
		collected := make(chan struct{})
		done := func(c chan struct{}) { close(c) }
		m, tok := func() (*bearer.Middleware, string) {
			priv, watched := c.gen()
			switch w := watched.(type) {
			case *rsa.PrivateKey:
				runtime.AddCleanup(w, done, collected)
			case *ecdsa.PrivateKey:
				runtime.AddCleanup(w, done, collected)
			case *byte:
				runtime.AddCleanup(w, done, collected)
			}
			m, err := bearer.New(bearer.PublicKey(priv), anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }))...)
			if err != nil {
				t.Fatal(err)
			}
			return m, jwt(t, c.alg, priv, `{"alg":"`+c.alg+`"}`, k.claims())
		}()
		for i := 0; ; i++ {
			runtime.GC()
			select {
			case <-collected:
			case <-time.After(10 * time.Millisecond):
				if i < 100 {
					continue
				}
				t.Errorf("%s: the private key stays reachable from the middleware", c.alg)
			}
			break
		}
		if _, err := m.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s: Verify after the private key was dropped: %v", c.alg, err)
		}
		m.Close()
	}
}

func assertNoLeak(t *testing.T, where, text string, forbidden []string) {
	t.Helper()
	for _, f := range forbidden {
		if f != "" && strings.Contains(text, f) {
			t.Errorf("%s leaks %.40q", where, f)
		}
	}
}

// assertConstantTimeMAC reads the package's source and checks that the
// HMAC path compares MACs with hmac.Equal, and with nothing that returns
// early (bytes.Equal, ==, string conversion). A timing measurement would
// be flaky; the source is what decides.
func assertConstantTimeMAC(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				name := fn.Name.Name
				if fn.Recv != nil {
					name = "method " + name
				}
				funcs[name] = fn
			}
		}
	}
	calls := func(fn *ast.FuncDecl, pkg, name string) bool {
		found := false
		ast.Inspect(fn, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
				if id, ok := sel.X.(*ast.Ident); ok && (pkg == "" || id.Name == pkg) {
					found = true
				}
			}
			return true
		})
		return found
	}
	dispatch, mac := funcs["verifySignature"], funcs["method verifyHMAC"]
	if dispatch == nil || mac == nil {
		t.Fatal("verifySignature or verifyHMAC is gone: update this check to the new HMAC path")
	}
	if !calls(dispatch, "", "verifyHMAC") {
		t.Error("verifySignature does not send HMAC algorithms to verifyHMAC")
	}
	if !calls(mac, "hmac", "Equal") {
		t.Error("verifyHMAC does not compare with hmac.Equal")
	}
	for _, early := range [][2]string{{"bytes", "Equal"}, {"bytes", "Compare"}, {"reflect", "DeepEqual"}, {"slices", "Equal"}} {
		if calls(mac, early[0], early[1]) {
			t.Errorf("verifyHMAC calls %s.%s, which returns at the first difference", early[0], early[1])
		}
	}
	ast.Inspect(mac, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && (b.Op == token.EQL || b.Op == token.NEQ) {
			if id, ok := b.X.(*ast.Ident); !ok || id.Name != "h" { // h == nil is the pool check
				t.Errorf("verifyHMAC compares with %s at %s", b.Op, fset.Position(b.Pos()))
			}
		}
		return true
	})
}

// Scalars for psychic: keep the genuine value, 0, or the group order n.
var (
	psyKeep = func(v, n *big.Int) *big.Int { return v }
	psyZero = func(v, n *big.Int) *big.Int { return new(big.Int) }
	psyN    = func(v, n *big.Int) *big.Int { return n }
)

// psychic rewrites the ECDSA signature of tok with r and s changed.
func psychic(tok string, key *ecdsa.PrivateKey, r, s func(v, n *big.Int) *big.Int) string {
	sig := mustDecode(segment(tok, 2))
	size := len(sig) / 2
	n := key.Curve.Params().N
	return withSignature(tok, ecdsaRS(key.Curve, r(new(big.Int).SetBytes(sig[:size]), n), s(new(big.Int).SetBytes(sig[size:]), n)))
}

// derSignature re-signs tok's input with an ASN.1 DER signature, the form
// crypto/ecdsa produces and JWS does not use.
func derSignature(t testing.TB, tok string, key *ecdsa.PrivateKey) string {
	input := tok[:strings.LastIndexByte(tok, '.')]
	raw := signature(t, "ES256", key, []byte(input))
	der, err := asn1Signature(raw)
	if err != nil {
		t.Fatal(err)
	}
	return withSignature(tok, der)
}

func asn1Signature(rs []byte) ([]byte, error) {
	size := len(rs) / 2
	integer := func(v []byte) []byte {
		v = new(big.Int).SetBytes(v).Bytes()
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(rs[:size]), integer(rs[size:])...)
	if len(body) > 127 {
		return nil, errors.New("signature too long for short-form DER")
	}
	return append([]byte{0x30, byte(len(body))}, body...), nil
}

func mustDecode(s string) []byte {
	b, err := b64u.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func flipLastSignatureByte(tok string) string {
	sig := mustDecode(segment(tok, 2))
	sig[len(sig)-1] ^= 1
	return withSignature(tok, sig)
}

// nonCanonicalTail sets an unused low bit of the last character of s, a
// base64url text whose length is not a multiple of 4: a lenient decoder
// reads the same bytes, a strict one refuses.
func nonCanonicalTail(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 == 0 {
		panic("nonCanonicalTail: no unused bits")
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

// unalignedClaims returns claims whose base64url form leaves unused bits.
func unalignedClaims(k *atkKeys) string {
	for pad := ""; ; pad += "x" {
		c := k.claims(`"p":"` + pad + `"`)
		if n := b64u.EncodedLen(len(c)); n%4 != 0 {
			return c
		}
	}
}

// paddedSegment encodes header with "=" padding, spaced out until the
// encoding needs some.
func paddedSegment(header string) string {
	for {
		s := base64.URLEncoding.EncodeToString([]byte(header))
		if strings.HasSuffix(s, "=") {
			return s
		}
		header += " "
	}
}

// stdAlphabetSegment encodes header in the standard alphabet, which must
// make use of "+" or "/".
func stdAlphabetSegment(header string) string {
	s := base64.RawStdEncoding.EncodeToString([]byte(header))
	if !strings.ContainsAny(s, "+/") {
		panic("stdAlphabetSegment: header encodes without + or /")
	}
	return s
}

// nested returns n nested JSON arrays.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// sizedToken returns a genuine HS256 token exactly size bytes long.
func sizedToken(t testing.TB, k *atkKeys, size int) string {
	tok := func(spaces, pad int) string {
		return jwt(t, "HS256", k.secret, `{"alg":"HS256","typ":"JWT"`+strings.Repeat(" ", spaces)+`}`, k.claims(`"p":"`+strings.Repeat("x", pad)+`"`))
	}
	start := max(0, (size-len(tok(0, 0)))*3/4-8)
	for pad := start; pad < start+16; pad++ {
		for spaces := range 4 { // base64 grows in steps of 4; spaces fill the gaps
			if s := tok(spaces, pad); len(s) == size {
				return s
			}
		}
	}
	t.Fatalf("sizedToken: cannot make %d bytes", size)
	return ""
}

// ---- DPoP and key bounds (issue 12's review findings) ----

// TestDPoPAttacks sends the review's hostile DPoP requests through a real
// server: each row configures DPoP, may prime the server with requests,
// and then sends a token and a proof whose answer must be exactly status
// and, for a 401, the error description.
func TestDPoPAttacks(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	stranger := bearertest.MustDPoPKey(bearertest.ES256)
	bound := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	plain := iss.MustMint(bearertest.Claims{"sub": "alice"})
	huge := junkRSA(20000, 1<<31-1)
	hugeBound := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": map[string]any{"jkt": rsaThumbprint(huge)}})
	const base = "https://api.example.com"
	type request struct {
		path, token string
		proof       func(url string) string // url is the server's
	}
	proofBy := func(k *bearertest.DPoPKey, tok, htu string) func(string) string {
		return func(url string) string {
			if htu != "" {
				url = htu
			}
			return k.MustProof("GET", url, tok)
		}
	}
	for _, a := range []struct {
		name, ref string
		cfg       bearer.DPoP
		before    []request // sent first, each answered 200
		refused   []request // sent first, each answered 401
		request
		status int
		desc   string
	}{
		{name: "huge RSA proof key, bound token", ref: "issue 12: DPoP proof cost (CWE-400)",
			request: request{"/", bound, func(url string) string { return junkKeyProof(t, huge, key.ProofClaims("GET", url, bound)) }},
			status:  401, desc: "DPoP proof key invalid"},
		{name: "huge RSA proof key, token bound to it", ref: "issue 12: DPoP proof cost (CWE-400)",
			request: request{"/", hugeBound, func(url string) string { return junkKeyProof(t, huge, key.ProofClaims("GET", url, hugeBound)) }},
			status:  401, desc: "DPoP proof key invalid"},
		{name: "huge RSA proof key, unbound token", ref: "issue 12: DPoP proof cost (CWE-400)",
			request: request{"/", plain, func(url string) string { return junkKeyProof(t, huge, key.ProofClaims("GET", url, plain)) }},
			status:  401, desc: "token not bound to the DPoP proof key"},
		{name: "stranger's proof key with a spoiled signature", ref: "issue 12: DPoP proof cost; RFC 9449 §4.3 (12)",
			request: request{"/", bound, func(url string) string { p := stranger.MustProof("GET", url, bound); return p[:len(p)-4] + "AAAA" }},
			status:  401, desc: "token not bound to the DPoP proof key"},
		{name: "stranger's proofs do not fill the replay cache", ref: "issue 12: replay ids stored before the binding check (CWE-400)",
			cfg:     bearer.DPoP{Replay: bearer.NewMemoryReplayCache(1)},
			refused: []request{{"/", bound, proofBy(stranger, bound, "")}, {"/", bound, proofBy(stranger, bound, "")}},
			request: request{"/", bound, proofBy(key, bound, "")},
			status:  200},
		{name: "one key over its share of the replay cache", ref: "issue 12: replay ids stored before the binding check (CWE-400)",
			cfg:     bearer.DPoP{Replay: bearer.NewMemoryReplayCache(16)},
			before:  []request{{"/", bound, proofBy(key, bound, "")}},
			request: request{"/", bound, proofBy(key, bound, "")},
			status:  503},
		{name: "htu with an encoded slash", ref: "issue 12: htu looser than RFC 3986 §6.2.2",
			cfg:     bearer.DPoP{BaseURL: base},
			request: request{"/orders/7", bound, proofBy(key, bound, base+"/orders%2F7")},
			status:  401, desc: "DPoP proof URL mismatch"},
		{name: "htu with userinfo", ref: "issue 12: htu looser than RFC 3986 §6.2.2; RFC 9449 §4.3 (9)",
			cfg:     bearer.DPoP{BaseURL: base},
			request: request{"/orders/7", bound, proofBy(key, bound, "https://user:pass@api.example.com/orders/7")},
			status:  401, desc: "DPoP proof URL mismatch"},
		{name: "htu with the default port", ref: "issue 16: htu default port not normalized; RFC 3986 §6.2.3",
			cfg:     bearer.DPoP{BaseURL: base},
			request: request{"/orders/7", bound, proofBy(key, bound, "https://api.example.com:443/orders/7")},
			status:  200},
	} {
		t.Run(a.name, func(t *testing.T) {
			srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(a.cfg))...).Handler(whoami))
			for _, b := range a.before {
				if got := dpopCall(t, "GET", srv.URL+b.path, "DPoP", b.token, b.proof(srv.URL+b.path)); got.status != 200 {
					t.Fatalf("before: %d %s", got.status, got.challenge)
				}
			}
			for _, b := range a.refused {
				if got := dpopCall(t, "GET", srv.URL+b.path, "DPoP", b.token, b.proof(srv.URL+b.path)); got.status != 401 {
					t.Fatalf("refused before: %d %s", got.status, got.challenge)
				}
			}
			got := dpopCall(t, "GET", srv.URL+a.path, "DPoP", a.token, a.proof(srv.URL+a.path))
			if got.status != a.status || a.status == 401 && !strings.Contains(got.challenge, `error_description="`+a.desc+`"`) {
				t.Errorf("got %d %s, want %d %q", got.status, got.challenge, a.status, a.desc)
			}
		})
	}
}

// TestKeyBoundAttacks: keys too costly to verify with are refused from
// every source, as DPoP proof keys are.
func TestKeyBoundAttacks(t *testing.T) {
	k := sharedAtkKeys()
	big, wideE := junkRSA(4096+64, 65537), junkRSA(2048, 1<<31-1)
	for _, a := range []attack{
		{name: "rsa/4160-bit PublicKey", ref: "issue 12: key bounds (CWE-400)", keys: bearer.PublicKey(big), newErr: bearer.ErrKeyBounds},
		{name: "rsa/e = 2³¹−1 PublicKey", ref: "issue 12: key bounds (CWE-400)", keys: bearer.PublicKey(wideE), newErr: bearer.ErrKeyBounds},
		{name: "rsa/4160-bit key set alone", ref: "issue 12: key bounds (CWE-400)", keys: mustKeySet(t, jwks(jwkRSA("big", "RS256", big))), newErr: bearer.ErrNoUsableKey},
	} {
		t.Run(a.name, func(t *testing.T) { runAttack(t, k, a, nil) })
	}
	t.Run("rsa/4160-bit key in a remote set", func(t *testing.T) {
		srv := newIdP(t, bearertest.RS256)
		srv.Keys.Serve(withKeys(t, srv.JWKS(), jwkRSA("big", "RS256", big), jwkRSA("wide", "RS256", wideE)))
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)
		e := obs.lastFetch()
		if e.Keys != 1 || len(e.Skipped) != 2 {
			t.Fatalf("fetch event: %d keys, skipped %v; want 1 key, big and wide skipped", e.Keys, e.Skipped)
		}
		for _, s := range e.Skipped {
			if !errors.Is(s.Reason, bearer.ErrKeyBounds) {
				t.Errorf("%s skipped for %v, want ErrKeyBounds", s.KeyID, s.Reason)
			}
		}
	})
}

// ---- Skip rules, CORS preflights and challenge headers (issue 12, issue 16) ----

// TestAttacksRouteBypass sends, over a real Go 1.22 ServeMux, requests
// that try to reach a protected route without a token: paths that lie
// under a skipped prefix by one reading and on a protected route by the
// router's (issue 12, High), and fake CORS preflights to a file server
// (issue 12, Medium). The adapters' tests and examples/cors send the same
// paths through Echo v4, Echo v5, Gin and chi.
func TestAttacksRouteBypass(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	trust := []bearer.Option{bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(iss.Audience()...)}
	t.Run("skip paths", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), append(trust, bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))...)
		var protected atomic.Int64
		answer := func(body string, hits *atomic.Int64) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if hits != nil {
					hits.Add(1)
				}
				io.WriteString(w, body)
			}
		}
		mux := http.NewServeMux()
		mux.Handle("GET "+bypasstest.Public, answer(bypasstest.PublicBody, nil))
		mux.Handle("GET /api/{version}/users", answer(bypasstest.ProtectedBody, &protected))
		mux.Handle("GET /files/{path...}", answer(bypasstest.ProtectedBody, &protected))
		bypasstest.Check(t, serve(t, m.Handler(mux)).URL, &protected, iss.MustMint(nil))
	})
	t.Run("CORS preflight", func(t *testing.T) {
		// A file server answers every method: on main, a fake preflight
		// that passed the middleware was served the file.
		var protected atomic.Int64
		files := http.StripPrefix("/files/", http.FileServerFS(fstest.MapFS{"x": {Data: []byte(bypasstest.ProtectedBody)}}))
		m := newMiddleware(t, iss.KeySource(), append(trust, bearer.WithCORSPreflight(bypasstest.CORS))...)
		srv := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			protected.Add(1)
			files.ServeHTTP(w, r)
		})))
		bypasstest.CheckPreflight(t, srv.URL, &protected, iss.MustMint(nil))
		if _, err := bearer.New(iss.KeySource(), append(trust, bearer.WithCORSPreflight(nil))...); err == nil || !strings.Contains(err.Error(), "nil CORS handler") {
			t.Errorf("New with WithCORSPreflight(nil): %v, want the nil CORS handler refused", err)
		}
	})
}

// TestAttacksChallengeHeaders: an *Error the application makes (a
// validator's, a rule's) cannot split or smuggle header lines through the
// challenge, and every answer tells browsers not to sniff its body
// (issue 16).
func TestAttacksChallengeHeaders(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	hostile := &bearer.Error{
		Status:      http.StatusUnauthorized,
		Code:        "invalid_token\r\nSet-Cookie: a=b",
		Description: "bad\x00 token\x1b[31m\r\n\r\nX-Injected: 1\x7f",
		Err:         bearer.ErrRejected,
	}
	const want = `Bearer realm="api", error="invalid_tokenSet-Cookie: a=b", error_description="bad token[31mX-Injected: 1"`
	m := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(iss.Audience()...), bearer.WithRealm("api"),
		bearer.WithValidator(func(context.Context, *bearer.Token) error { return hostile }))
	if got := challengeOf(m, hostile); got != want {
		t.Errorf("Challenge:\n got %q\nwant %q", got, want)
	}
	got := call(t, serve(t, m.Handler(reason)).URL, bearerHeader(iss.MustMint(nil)))
	if got.status != http.StatusUnauthorized || got.challenge != want {
		t.Errorf("answer %d, challenge:\n got %q\nwant %q", got.status, got.challenge, want)
	}
	if got.header.Get("Set-Cookie") != "" || got.header.Get("X-Injected") != "" {
		t.Errorf("header smuggled into the answer: %v", got.header)
	}

	// X-Content-Type-Options: nosniff on every kind of answer.
	unavailable := answertest.KeysUnavailable(t)
	scoped := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(iss.Audience()...))
	for _, c := range []struct {
		name   string
		h      http.Handler
		header http.Header
		status int
	}{
		{"no token", scoped.Handler(reason), nil, 401},
		{"malformed request", scoped.Handler(reason), http.Header{"Authorization": {"Bearer a b"}}, 400},
		{"bad token", scoped.Handler(reason), bearerHeader("x.y.z"), 401},
		{"missing scope", scoped.Handler(bearer.RequireScopes("admin")(reason)), bearerHeader(iss.MustMint(nil)), 403},
		{"keys unavailable", unavailable.Middleware.Handler(reason), bearerHeader(unavailable.Token(t, "")), 503},
	} {
		got := call(t, serve(t, c.h).URL, c.header)
		if got.status != c.status || got.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, X-Content-Type-Options %q; want %d, nosniff", c.name, got.status, got.header.Get("X-Content-Type-Options"), c.status)
		}
	}
}

// ---- Issue 12 (outside review, low findings): scopes, exact claims, kid-less tokens ----

// TestAttacksClaimsAndKeys holds the rows of the outside review's low
// findings on how claims are read and keys are tried, each through the
// same harness as TestAttacks: a real server and Verify.
func TestAttacksClaimsAndKeys(t *testing.T) {
	k := sharedAtkKeys()
	const (
		hs256     = `{"alg":"HS256","typ":"JWT"}`
		malformed = "malformed token"
		badClaims = "malformed claims"
		unknown   = "unknown signing key"
	)
	hs := func(payload string) string { return jwt(t, "HS256", k.secret, hs256, payload) }
	secret := bearer.Secret(k.secret)
	// Four ES256 keys with kids; a token without a kid fits them all.
	ecKeys := []*ecdsa.PrivateKey{k.ec, k.ecAttacker}
	for range 2 {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ecKeys = append(ecKeys, key)
	}
	set := func(keys ...*ecdsa.PrivateKey) bearer.KeySource {
		var jwkKeys []string
		for i, key := range keys {
			jwkKeys = append(jwkKeys, jwkEC(fmt.Sprintf("ec-%d", i), "ES256", &key.PublicKey))
		}
		src, err := bearer.KeySetJSON(jwks(jwkKeys...))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	kidless := jwt(t, "ES256", ecKeys[2], `{"alg":"ES256"}`, k.claims())
	const review = "issue 12, outside review"
	for _, a := range []attack{
		// Scopes are separated by SP only (RFC 6749 §3.3): strings.Fields
		// split "files:read\u00a0admin" into two scopes, admin one of them.
		{name: "scope/no-break space", ref: "RFC 6749 §3.3; " + review, keys: secret,
			token: hs(k.claims(`"scope":"files:read\u00a0admin"`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "scope/tab", ref: "RFC 6749 §3.3; " + review, keys: secret,
			token: hs(k.claims(`"scope":"files:read\tadmin"`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "scope/em space in scp", ref: "RFC 6749 §3.3; " + review, keys: secret,
			token: hs(k.claims(`"scp":"files:read\u2003admin"`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "scope/space inside an scp element", ref: "RFC 6749 §3.3; " + review, keys: secret,
			token: hs(k.claims(`"scp":["files:read admin"]`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "control/scope separated by spaces", ref: "RFC 6749 §3.3", keys: secret,
			token: hs(k.claims(`"scope":" files:read  admin "`))},

		// Duplicates below the top level: the verifier read the first,
		// encoding/json (Decode, ClaimsFrom, Claim) the last.
		{name: "duplicate/cnf.jkt twice", ref: "RFC 7519 §4; RFC 9449 §6.1; " + review, keys: secret,
			token: hs(k.claims(`"cnf":{"jkt":"a","jkt":"b"}`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/act.sub twice", ref: "RFC 7519 §4; RFC 8693 §4.1; " + review, keys: secret,
			token: hs(k.claims(`"act":{"sub":"alice","sub":"admin"}`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/act.sub escaped", ref: "RFC 7519 §4; " + review, keys: secret,
			token: hs(k.claims(`"act":{"sub":"alice","\u0073ub":"admin"}`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/act.sub and act.SUB", ref: "RFC 7519 §4; " + review, keys: secret,
			token: hs(k.claims(`"act":{"sub":"alice","SUB":"admin"}`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/in an array of objects", ref: "RFC 7519 §4; " + review, keys: secret,
			token: hs(k.claims(`"may_act":[{"sub":"a"},{"sub":"b","\u017fub":"admin"}]`)), want: bearer.ErrMalformed, desc: badClaims},
		{name: "duplicate/in a header object", ref: "RFC 7515 §5.2; " + review, keys: secret,
			token: jwt(t, "HS256", k.secret, `{"alg":"HS256","x":{"a":1,"a":2}}`, k.claims()), want: bearer.ErrMalformed, desc: malformed},
		{name: "control/the same name in different objects", ref: "RFC 7519 §4", keys: secret,
			token: hs(k.claims(`"act":{"sub":"a","act":{"sub":"b"}}`, `"x":[{"sub":"c"},{"sub":"d"}]`))},

		// A token without a kid was tried against every key of the set.
		{name: "kid/none, four keys fit", ref: "RFC 7515 §4.1.4; " + review, keys: set(ecKeys...),
			token: kidless, want: bearer.ErrUnknownKey, desc: unknown},
		{name: "kid/none, four keys fit, forged", ref: "RFC 7515 §4.1.4; " + review, keys: set(ecKeys...),
			token: flipLastSignatureByte(kidless), want: bearer.ErrUnknownKey, desc: unknown},
		{name: "control/kid none, three keys fit", ref: "RFC 7515 §4.1.4", keys: set(ecKeys[:3]...), token: kidless},
		{name: "control/kid none, four keys, three fit the alg", ref: "RFC 7515 §4.1.4",
			keys: mustKeySet(t, jwks(jwkEC("a", "ES256", &ecKeys[0].PublicKey), jwkEC("b", "ES256", &ecKeys[1].PublicKey),
				jwkEC("c", "ES256", &ecKeys[2].PublicKey), jwkRSA("r", "RS256", &k.rsa.PublicKey))), token: kidless},
		{name: "control/kid of four keys", ref: "RFC 7515 §4.1.4", keys: set(ecKeys...),
			token: jwt(t, "ES256", ecKeys[3], `{"alg":"ES256","kid":"ec-3"}`, k.claims())},
	} {
		t.Run(a.name, func(t *testing.T) { runAttack(t, k, a, nil) })
	}

	// A handler's struct gets a member only under its exact name: a lone
	// "Sub" or "ſub" left Subject() empty but filled `json:"sub"`.
	m, err := bearer.New(secret, anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return k.now }), quiet)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := bearer.ClaimsFrom[struct {
			Sub string `json:"sub"`
			Act struct {
				Sub string `json:"sub"`
			} `json:"act"`
		}](r.Context())
		if err != nil {
			http.Error(w, "claims refused", http.StatusForbidden)
			return
		}
		io.WriteString(w, "sub="+c.Sub+" act="+c.Act.Sub+" subject="+bearer.Subject(r.Context()))
	})))
	defer srv.Close()
	for _, c := range []struct{ name, payload, want string }{
		{"Sub", k.claimsWithoutSub(`"Sub":"admin"`), "claims refused\n"},
		{"long s", k.claimsWithoutSub(`"\u017fub":"admin"`), "claims refused\n"},
		{"act.SUB", k.claims(`"act":{"SUB":"admin"}`), "claims refused\n"},
		{"control", k.claims(`"act":{"sub":"bob"}`), "sub=alice act=bob subject=alice"},
	} {
		t.Run("exact names/"+c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+hs(c.payload))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != c.want || strings.Contains(string(body), "admin") {
				t.Errorf("%d %q, want %q", resp.StatusCode, body, c.want)
			}
		})
	}
}

// claimsWithoutSub is claims without its sub member.
func (k *atkKeys) claimsWithoutSub(extra ...string) string {
	return strings.Replace(k.claims(extra...), `"sub":"alice",`, "", 1)
}
