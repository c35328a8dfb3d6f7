package bearer

import (
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// proof is a DPoP proof (RFC 9449 §4.2): a JWS of its own kind, not an
// access token. Its claims are read in one pass; htm, htu, nonce and ath
// stay raw JSON values until they are compared with the request.
type proof struct {
	jws

	iat                  time.Time
	jti                  string
	htm, htu, nonce, ath string
}

// parseProof reads raw as a DPoP proof. A proof is signed by its own key,
// so its claims need not wait for the signature: malformed claims end it
// here, as a malformed header does.
func parseProof(raw string) (*proof, error) {
	p := new(proof)
	if err := p.jws.parse(raw); err != nil {
		return nil, err
	}
	if !p.readClaims() {
		return nil, errMalformedClaims
	}
	return p, nil
}

func (p *proof) readClaims() bool {
	var s strictjson.Scanner
	if !s.Reset(p.payload) {
		return false
	}
	for {
		name, v, dup, ok := s.Next()
		if !ok {
			break
		}
		if dup {
			return false
		}
		switch name {
		case "iat":
			ok = readNumericDate(v, &p.iat)
		case "jti":
			ok = readString(v, &p.jti)
		case "htm":
			p.htm = v
		case "htu":
			p.htu = v
		case "nonce":
			p.nonce = v
		case "ath":
			p.ath = v
		}
		if !ok {
			return false
		}
	}
	return s.Valid()
}
