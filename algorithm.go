package bearer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
)

// algorithm is one JWS signature algorithm of RFC 7518 §3 / RFC 8037.
type algorithm uint8

const (
	algNone algorithm = iota // not an algorithm: unknown or refused
	algHS256
	algHS384
	algHS512
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algEd25519 // RFC 9864: the fully-specified name of EdDSA over Ed25519
	algCount
)

var algNames = [algCount]string{
	algHS256: "HS256", algHS384: "HS384", algHS512: "HS512",
	algRS256: "RS256", algRS384: "RS384", algRS512: "RS512",
	algPS256: "PS256", algPS384: "PS384", algPS512: "PS512",
	algES256: "ES256", algES384: "ES384", algES512: "ES512",
	algEdDSA: "EdDSA", algEd25519: "Ed25519",
}

func (a algorithm) String() string { return algNames[a] }

// parseAlgorithm maps an alg header value to an algorithm. The match is
// exact: "none", "None", "hs256" are all algNone and therefore refused.
func parseAlgorithm(name string) algorithm {
	for a := algHS256; a < algCount; a++ {
		if algNames[a] == name {
			return a
		}
	}
	return algNone
}

func (a algorithm) hash() crypto.Hash {
	switch a {
	case algHS256, algRS256, algPS256, algES256:
		return crypto.SHA256
	case algHS384, algRS384, algPS384, algES384:
		return crypto.SHA384
	case algHS512, algRS512, algPS512, algES512:
		return crypto.SHA512
	}
	return 0
}

func (a algorithm) isHMAC() bool { return a >= algHS256 && a <= algHS512 }

// algSet is a set of algorithms: which ones a key may verify, which ones the
// middleware allows.
type algSet uint16

func setOf(algs ...algorithm) algSet {
	var s algSet
	for _, a := range algs {
		s |= 1 << a
	}
	return s
}

func (s algSet) has(a algorithm) bool { return a != algNone && s&(1<<a) != 0 }

func (s algSet) String() string {
	var names []string
	for a := algHS256; a < algCount; a++ {
		if s.has(a) {
			names = append(names, a.String())
		}
	}
	return strings.Join(names, " ")
}

var (
	hmacAlgs       = setOf(algHS256, algHS384, algHS512)
	asymmetricAlgs = setOf(algRS256, algRS384, algRS512, algPS256, algPS384, algPS512, algES256, algES384, algES512, algEdDSA, algEd25519)
)

// parseAlgorithms reads WithAlgorithms' names; an unknown name is a
// configuration error rather than something silently ignored.
func parseAlgorithms(names []string) (algSet, error) {
	var s algSet
	for _, n := range names {
		a := parseAlgorithm(n)
		if a == algNone {
			return 0, unsupportedAlgorithm(n)
		}
		s |= setOf(a)
	}
	return s, nil
}

// Bounds of RSA keys, wherever they come from (PublicKey, KeySetJSON,
// remote sets, DPoP proofs). A verification costs about the square of the
// modulus size times the exponent's bit length: a 20,000-bit modulus with
// e = 2³¹−1, which fits in an 8 KiB DPoP proof, costs hundreds of times a
// 2048-bit key with e = 65537. 4096 bits is the largest size in common
// use; 65537 is the exponent of virtually every key, and the odd ones below
// it (3, 17, ...) cost less, so they are kept.
const (
	minRSABits     = 2048
	maxRSABits     = 4096
	maxRSAExponent = 1<<16 + 1
)

// unsupportedAlgorithm says why name is no algorithm, with the right
// spelling when only the case is wrong (names are case-sensitive, RFC 7515
// §4.1.1).
func unsupportedAlgorithm(name string) error {
	if strings.EqualFold(name, "none") {
		return fmt.Errorf("bearer: algorithm %q: unsigned tokens are never accepted", name)
	}
	for a := algHS256; a < algCount; a++ {
		if strings.EqualFold(algNames[a], name) {
			return fmt.Errorf("bearer: unsupported algorithm %q: names are case-sensitive, use %q", name, algNames[a])
		}
	}
	return fmt.Errorf("bearer: unsupported algorithm %q: use one of %s", name, asymmetricAlgs|hmacAlgs)
}

// algorithmsFor is the set of algorithms a public key can verify: the key
// type decides (RFC 8725 §3.1), never the token.
func algorithmsFor(pub crypto.PublicKey) (algSet, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch {
		case k.N == nil || k.N.BitLen() < minRSABits:
			return 0, fmt.Errorf("%w: RSA key shorter than %d bits", ErrWeakKey, minRSABits)
		case k.N.BitLen() > maxRSABits:
			return 0, fmt.Errorf("%w: RSA key longer than %d bits", ErrKeyBounds, maxRSABits)
		case k.E < 3 || k.E > maxRSAExponent || k.E%2 == 0:
			return 0, fmt.Errorf("%w: RSA exponent not an odd number from 3 to %d", ErrKeyBounds, maxRSAExponent)
		}
		return setOf(algRS256, algRS384, algRS512, algPS256, algPS384, algPS512), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return setOf(algES256), nil
		case elliptic.P384():
			return setOf(algES384), nil
		case elliptic.P521():
			return setOf(algES512), nil
		}
		return 0, fmt.Errorf("bearer: unsupported ECDSA curve")
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return 0, fmt.Errorf("bearer: malformed Ed25519 key")
		}
		return setOf(algEdDSA, algEd25519), nil
	}
	return 0, fmt.Errorf("bearer: unsupported public key type %T", pub)
}

// verifySignature checks sig over input with key under alg. The caller has
// made sure key may be used with alg.
func verifySignature(k *verifyKey, a algorithm, input, sig []byte) bool {
	switch {
	case a.isHMAC():
		return k.verifyHMAC(a, input, sig)
	case a == algEdDSA || a == algEd25519:
		// ed25519.Verify rejects non-canonical S (RFC 8032 §5.1.7).
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed25519, input, sig)
	}
	var sum [64]byte
	digest := digest(sum[:0], a.hash(), input)
	switch a {
	case algRS256, algRS384, algRS512:
		return rsa.VerifyPKCS1v15(k.rsa, a.hash(), digest, sig) == nil
	case algPS256, algPS384, algPS512:
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.VerifyPSS(k.rsa, a.hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case algES256, algES384, algES512:
		return verifyECDSA(k.ecdsa, digest, sig)
	}
	return false
}

// digest appends the hash of input to b. The one-shot functions keep the
// hash state and the sum off the heap, which hash.Hash's methods cannot.
func digest(b []byte, h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA256:
		sum := sha256.Sum256(input)
		return append(b, sum[:]...)
	case crypto.SHA384:
		sum := sha512.Sum384(input)
		return append(b, sum[:]...)
	}
	sum := sha512.Sum512(input)
	return append(b, sum[:]...)
}

// verifyECDSA checks a JWS ECDSA signature, R||S as fixed-size big-endian
// integers (RFC 7518 §3.4). It re-encodes them as ASN.1 for
// ecdsa.VerifyASN1, which refuses r or s outside [1, n-1] (CVE-2022-21449).
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	var buf [2*66 + 16]byte
	der := appendASN1Signature(buf[:0], sig[:size], sig[size:])
	return ecdsa.VerifyASN1(pub, digest, der)
}

// appendASN1Signature appends SEQUENCE { INTEGER r, INTEGER s }.
func appendASN1Signature(b, r, s []byte) []byte {
	r, s = minimalInteger(r), minimalInteger(s)
	n := asn1IntegerLen(r) + asn1IntegerLen(s)
	b = append(b, 0x30)
	b = appendASN1Length(b, n)
	b = appendASN1Integer(b, r)
	return appendASN1Integer(b, s)
}

func minimalInteger(v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	return v
}

func asn1IntegerLen(v []byte) int {
	n := len(v)
	if v[0]&0x80 != 0 {
		n++
	}
	if n >= 0x80 {
		return 3 + n
	}
	return 2 + n
}

func appendASN1Integer(b, v []byte) []byte {
	n := len(v)
	pad := v[0]&0x80 != 0
	if pad {
		n++
	}
	b = append(b, 0x02)
	b = appendASN1Length(b, n)
	if pad {
		b = append(b, 0)
	}
	return append(b, v...)
}

func appendASN1Length(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return append(b, 0x81, byte(n))
}

// verifyHMAC compares in constant time (hmac.Equal). The HMAC states are
// pooled per key and algorithm: building one costs more than the MAC itself
// for a token-sized input. Each state brings its own buffer for the sum,
// which would otherwise escape to the heap through hash.Hash.Sum.
func (k *verifyKey) verifyHMAC(a algorithm, input, sig []byte) bool {
	pool := &k.hmacs[a-algHS256]
	h, _ := pool.Get().(*hmacState)
	if h == nil {
		h = &hmacState{mac: hmac.New(a.hash().New, k.secret)}
	}
	h.mac.Write(input)
	ok := hmac.Equal(h.mac.Sum(h.sum[:0]), sig)
	h.mac.Reset()
	pool.Put(h)
	return ok
}

// hmacState is one pooled HMAC computation.
type hmacState struct {
	mac hash.Hash
	sum [64]byte
}
