package bearer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// The hostile tokens of attack_test.go and the fuzz seeds are crafted here with
// the standard library alone, so that a test can sign any header and payload
// bytes (duplicate members, odd encodings) that a JOSE library would refuse
// to produce.

var b64u = base64.RawURLEncoding

// atkKeys holds the keys of the attack catalogue: the victim's, the
// attacker's, and some deliberately unfit ones.
type atkKeys struct {
	now         time.Time
	secret      []byte
	rsa         *rsa.PrivateKey
	rsaAttacker *rsa.PrivateKey
	rsa1024     *rsa.PrivateKey
	ec          *ecdsa.PrivateKey
	ecAttacker  *ecdsa.PrivateKey
	ec384       *ecdsa.PrivateKey
	ec521       *ecdsa.PrivateKey
	ed          ed25519.PrivateKey
}

// sharedAtkKeys makes the keys once per test binary: RSA key generation
// is slow under the race detector, and the fuzz targets seed from the
// catalogue too.
var sharedAtkKeys = sync.OnceValue(newAtkKeys)

func newAtkKeys() *atkKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &atkKeys{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), secret: make([]byte, 32)}
	rand.Read(k.secret)
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaAttacker, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ecAttacker, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.ec521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
}

// claims returns a claims set valid at k.now, with extra members appended
// as raw JSON (so that duplicates and odd values survive).
func (k *atkKeys) claims(extra ...string) string {
	members := []string{`"sub":"alice"`, fmt.Sprintf(`"iat":%d`, k.now.Unix()), fmt.Sprintf(`"exp":%d`, k.now.Add(time.Hour).Unix())}
	return "{" + strings.Join(append(members, extra...), ",") + "}"
}

// claimsWithout is claims with the exp member left out, so that a row can
// give exp a hostile value of its own.
func (k *atkKeys) claimsWithout(extra ...string) string {
	members := []string{`"sub":"alice"`, fmt.Sprintf(`"iat":%d`, k.now.Unix())}
	return "{" + strings.Join(append(members, extra...), ",") + "}"
}

// jwt encodes header and payload (raw JSON) and signs them.
func jwt(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	return signSegments(t, alg, key, b64u.EncodeToString([]byte(header)), b64u.EncodeToString([]byte(payload)))
}

// signSegments signs the segments exactly as given, encoded or not, so
// that non-canonical encodings carry a signature over themselves.
func signSegments(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	input := header + "." + payload
	return input + "." + b64u.EncodeToString(signature(t, alg, key, []byte(input)))
}

// signature computes a JWS signature (RFC 7518 §3) with the standard
// library: HMAC, RSASSA-PKCS1-v1_5, RSASSA-PSS, ECDSA as R||S, Ed25519.
func signature(t testing.TB, alg string, key any, input []byte) []byte {
	t.Helper()
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	if alg == "EdDSA" || alg == "Ed25519" {
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	}
	if alg[:2] == "HS" {
		mac := hmac.New(h.New, key.([]byte))
		mac.Write(input)
		return mac.Sum(nil)
	}
	d := h.New()
	d.Write(input)
	digest := d.Sum(nil)
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		priv := key.(*ecdsa.PrivateKey)
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, priv, digest)
		if err == nil {
			sig = ecdsaRS(priv.Curve, r, s)
		}
	default:
		t.Fatalf("signature: unknown alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// ecdsaRS is the JWS form of an ECDSA signature: R||S, each as long as the
// curve's order (RFC 7518 §3.4).
func ecdsaRS(c elliptic.Curve, r, s *big.Int) []byte {
	size := (c.Params().BitSize + 7) / 8
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	s.FillBytes(sig[size:])
	return sig
}

// withSignature replaces the signature segment of tok.
func withSignature(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + b64u.EncodeToString(sig)
}

// segment returns the i-th dot-separated segment of tok.
func segment(tok string, i int) string { return strings.Split(tok, ".")[i] }

// jwkRSA, jwkEC, jwkOct and jwkOKP write JWKs (RFC 7517, RFC 8037).
func jwkRSA(kid, alg string, pub *rsa.PublicKey) string {
	return fmt.Sprintf(`{"kty":"RSA","kid":%q,"alg":%q,"use":"sig","n":%q,"e":%q}`, kid, alg,
		b64u.EncodeToString(pub.N.Bytes()), b64u.EncodeToString(big.NewInt(int64(pub.E)).Bytes()))
}

func jwkEC(kid, alg string, pub *ecdsa.PublicKey) string {
	x, y := ecPoint(pub)
	return fmt.Sprintf(`{"kty":"EC","kid":%q,"alg":%q,"use":"sig","crv":%q,"x":%q,"y":%q}`, kid, alg,
		pub.Curve.Params().Name, b64u.EncodeToString(x), b64u.EncodeToString(y))
}

func jwkOct(kid, alg string, secret []byte) string {
	return fmt.Sprintf(`{"kty":"oct","kid":%q,"alg":%q,"k":%q}`, kid, alg, b64u.EncodeToString(secret))
}

func jwkOKP(kid string, pub ed25519.PublicKey) string {
	return fmt.Sprintf(`{"kty":"OKP","kid":%q,"alg":"EdDSA","use":"sig","crv":"Ed25519","x":%q}`, kid, b64u.EncodeToString(pub))
}

func jwks(keys ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`)
}

// ecPoint returns the fixed-size big-endian coordinates of pub, from its
// uncompressed SEC 1 encoding.
func ecPoint(pub *ecdsa.PublicKey) (x, y []byte) {
	b := ecRaw(pub)
	size := (len(b) - 1) / 2
	return b[1 : 1+size], b[1+size:]
}

func ecRaw(pub *ecdsa.PublicKey) []byte {
	e, err := pub.ECDH()
	if err != nil {
		panic(err)
	}
	return e.Bytes()
}

// publicKeyForms are the byte strings an attacker might hope a confused
// verifier uses as an HMAC secret: the public key in every usual encoding.
func publicKeyForms(t testing.TB, pub crypto.PublicKey, jwk string) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{
		"PEM":      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"DER":      der,
		"JWK JSON": []byte(jwk),
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		pkcs1 := x509.MarshalPKCS1PublicKey(k)
		forms["PKCS1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
		forms["PKCS1 DER"] = pkcs1
		forms["raw modulus"] = k.N.Bytes()
	case *ecdsa.PublicKey:
		forms["raw point"] = ecRaw(k)
	case ed25519.PublicKey:
		forms["raw key"] = k
	}
	return forms
}

// selfSigned returns a base64 (not url) DER certificate for key, as an
// x5c header would carry it.
func selfSigned(t testing.TB, key *ecdsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// ed25519L is the order of the Ed25519 base point (RFC 8032 §5.1).
var ed25519L, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// nonCanonicalEd25519 returns sig with S replaced by S + L: the same value
// modulo L, which RFC 8032 §5.1.7 requires verifiers to refuse.
func nonCanonicalEd25519(sig []byte) []byte {
	le := func(b []byte) []byte { // little endian <-> big endian
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return r
	}
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, ed25519L)
	out := append([]byte(nil), sig[:32]...)
	return append(out, le(s.FillBytes(make([]byte, 32)))...)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
