package bearer

import (
	"encoding/base64"
	"strings"
	"unsafe"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// b64 decodes JWS segments: base64url without padding, and Strict so that
// non-zero trailing bits (a second spelling of the same bytes) are refused.
var b64 = base64.RawURLEncoding.Strict()

// jws is a JWS in compact serialization (RFC 7515 §7.1), split and
// decoded, with its header read: what an access token and a DPoP proof
// share. Nothing in it is trusted until verifySignature says so.
type jws struct {
	raw     string
	header  string // the JOSE header, JSON
	payload string // JSON: a claims set, for a JWT

	alg    algorithm
	kid    string
	hasKid bool
	typ    string

	input, sig []byte     // signing input and signature, until verified
	key        *verifyKey // the key that verified the signature
}

// parse splits and decodes raw, a JWS in compact serialization, and reads
// its header. It checks form only: nothing here is trusted until the
// signature is.
func (j *jws) parse(raw string) error {
	// Exactly two dots, a header and a signature: this refuses the JSON
	// serialization and 4- and 5-part (JWE) tokens before any decoding. An
	// empty payload is a well-formed JWS (it fails later as a claims set).
	d1 := strings.IndexByte(raw, '.')
	if d1 <= 0 {
		return errMalformed
	}
	d2 := d1 + 1 + strings.IndexByte(raw[d1+1:], '.')
	if d2 < d1+1 || d2 == len(raw)-1 || strings.IndexByte(raw[d2+1:], '.') >= 0 {
		return errMalformed
	}
	// The strict decoder below refuses every byte outside the base64url
	// alphabet, padding included, except CR and LF, which Go's decoders
	// skip: those are refused here.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return errMalformed
	}

	// One buffer for the decoded segments. The signing input and the
	// decoder's source are read-only views of raw's bytes (hashes and
	// decoders never write to their input: io.Writer's contract), which
	// saves copying the token.
	in := unsafe.Slice(unsafe.StringData(raw), len(raw))
	hLen := b64.DecodedLen(d1)
	pLen := b64.DecodedLen(d2 - d1 - 1)
	sLen := b64.DecodedLen(len(raw) - d2 - 1)
	dec := make([]byte, hLen+pLen+sLen)
	hn, err := b64.Decode(dec, in[:d1])
	if err != nil {
		return errMalformed
	}
	pn, err := b64.Decode(dec[hn:], in[d1+1:d2])
	if err != nil {
		return errMalformed
	}
	sn, err := b64.Decode(dec[hn+pn:], in[d2+1:])
	if err != nil {
		return errMalformed
	}
	// Header and claims share one string that views dec: nothing writes
	// to dec once it is decoded, so the string stays immutable, and the
	// copy a conversion would make is saved. The scanner that reads them
	// checks that they are UTF-8 JSON (RFC 7515 §5.2, RFC 7519 §7.2,
	// RFC 8725 §3.7).
	text := unsafe.String(&dec[0], hn+pn)
	*j = jws{
		raw:     raw,
		header:  text[:hn],
		payload: text[hn:],
		input:   in[:d2:d2],
		sig:     dec[hn+pn : hn+pn+sn : hn+pn+sn],
	}
	return j.readHeader()
}

// readHeader reads the JOSE header. jku, x5u, jwk and x5c are never used
// to find a key; they are ignored like any other parameter.
func (j *jws) readHeader() error {
	var s strictjson.Scanner
	if !s.Reset(j.header) {
		return errMalformed
	}
	hasAlg := false
	for {
		name, v, dup, ok := s.Next()
		if !ok {
			break
		}
		if dup {
			return errMalformed
		}
		switch name {
		case "alg":
			alg, ok := strictjson.String(v)
			if !ok {
				return errMalformed
			}
			j.alg, hasAlg = parseAlgorithm(alg), true
		case "kid":
			if j.kid, ok = strictjson.String(v); !ok {
				return errMalformed
			}
			j.hasKid = true
		case "typ":
			if j.typ, ok = strictjson.String(v); !ok {
				return errMalformed
			}
		case "crit":
			// No extension is understood, so any crit is refused
			// (RFC 7515 §4.1.11); that includes b64 (RFC 7797).
			return errCritical
		}
	}
	if !s.Valid() || !hasAlg {
		return errMalformed
	}
	if j.alg == algNone {
		return errAlgorithm
	}
	return nil
}

// maxKeyTries bounds the signature checks one token may cost. A token
// names its key with kid; one without (or one whose kid falls back to the
// keys that have none) could otherwise make every key of a large set
// check its signature. Three covers a key set in rotation (the old, the
// current and the next key of one algorithm).
const maxKeyTries = 3

// verifySignature tries the candidate keys that may verify the JWS's
// algorithm. A key bound to another algorithm is never tried: that is the
// defence against algorithm confusion (RFC 8725 §2.1). When more than
// maxKeyTries keys fit, none is tried: the token does not say which key
// signed it (ErrUnknownKey), and trying only some would accept the
// tokens of some keys and refuse those of others, by their order in the
// set.
func (j *jws) verifySignature(keys []*verifyKey) error {
	fit := 0
	for _, k := range keys {
		if k.algs.has(j.alg) {
			fit++
		}
	}
	switch {
	case fit == 0:
		return errAlgorithm
	case fit > maxKeyTries:
		return errUnknownKey
	}
	for _, k := range keys {
		if k.algs.has(j.alg) && verifySignature(k, j.alg, j.input, j.sig) {
			j.key = k
			j.input, j.sig = nil, nil // not needed any more
			return nil
		}
	}
	return errSignature
}
