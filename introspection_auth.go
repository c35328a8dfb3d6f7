package bearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// clientAuth authenticates the resource server to the introspection
// endpoint (RFC 7662 §2.1 requires some authentication).
type clientAuth interface {
	// authenticate adds the credentials to req or to its form; aud is the
	// audience of a client assertion.
	authenticate(req *http.Request, form url.Values, aud string) error
	clientID() string
}

func setAuth(a clientAuth) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if cfg.auth != nil {
			return errors.New("bearer: more than one client authentication for Introspection")
		}
		cfg.auth = a
		return nil
	}
}

// ClientSecretBasic authenticates to the introspection endpoint with HTTP
// Basic (client_secret_basic, RFC 6749 §2.3.1): id and secret are
// form-encoded, then joined, as the RFC says.
func ClientSecretBasic(id, secret string) IntrospectionOption {
	return setAuth(secretAuth{id: id, secret: secret})
}

// ClientSecretPost authenticates to the introspection endpoint with
// client_id and client_secret in the request body (client_secret_post).
func ClientSecretPost(id, secret string) IntrospectionOption {
	return setAuth(secretAuth{id: id, secret: secret, post: true})
}

type secretAuth struct {
	id, secret string
	post       bool
}

func (a secretAuth) clientID() string { return a.id }

func (a secretAuth) authenticate(req *http.Request, form url.Values, _ string) error {
	if a.post {
		form.Set("client_id", a.id)
		form.Set("client_secret", a.secret)
		return nil
	}
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	return nil
}

// PrivateKeyJWT authenticates to the introspection endpoint with a client
// assertion signed by key (private_key_jwt, RFC 7523 §2.2, OpenID Connect
// Core §9): an *rsa.PrivateKey (RS256), an *ecdsa.PrivateKey on P-256
// (ES256) or an ed25519.PrivateKey (EdDSA), or any crypto.Signer with such
// a public key (a KMS or HSM key). kid, if not empty, names the key
// registered with the server. Each call gets a new assertion, valid for a
// minute, whose aud is the issuer when known, else the endpoint.
func PrivateKeyJWT(id string, key crypto.Signer, kid string) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if key == nil {
			return errNilOption("crypto.Signer")
		}
		a := keyAuth{id: id, key: key, kid: kid}
		switch pub := key.Public().(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return fmt.Errorf("%w: RSA key of %d bits", ErrWeakKey, pub.N.BitLen())
			}
			a.alg = "RS256"
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return errors.New("bearer: PrivateKeyJWT takes ECDSA keys on P-256 only")
			}
			a.alg = "ES256"
		case ed25519.PublicKey:
			a.alg = "EdDSA"
		default:
			return fmt.Errorf("bearer: PrivateKeyJWT: unsupported key type %T", pub)
		}
		return setAuth(a)(cfg)
	}
}

type keyAuth struct {
	id, kid, alg string
	key          crypto.Signer
}

func (a keyAuth) clientID() string { return a.id }

func (a keyAuth) authenticate(_ *http.Request, form url.Values, aud string) error {
	assertion, err := a.assertion(aud, time.Now())
	if err != nil {
		return err
	}
	form.Set("client_id", a.id)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion)
	return nil
}

// assertion signs a client assertion for aud.
func (a keyAuth) assertion(aud string, now time.Time) (string, error) {
	var jti [16]byte
	rand.Read(jti[:])
	header := map[string]string{"alg": a.alg, "typ": "JWT"}
	if a.kid != "" {
		header["kid"] = a.kid
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(map[string]any{
		"iss": a.id, "sub": a.id, "aud": aud,
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	var err error
	switch a.alg {
	case "EdDSA":
		sig, err = a.key.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	default:
		sum := sha256.Sum256([]byte(input))
		sig, err = a.key.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err == nil && a.alg == "ES256" {
			sig, err = rawECDSA(sig)
		}
	}
	if err != nil {
		return "", fmt.Errorf("bearer: signing the client assertion: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// rawECDSA turns an ASN.1 ECDSA signature into the R || S of JWS
// (RFC 7518 §3.4).
func rawECDSA(der []byte) ([]byte, error) {
	var s struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	s.R.FillBytes(out[:32])
	s.S.FillBytes(out[32:])
	return out, nil
}

// jwtIntrospectionType is the media type of a signed answer (RFC 9701 §5).
const jwtIntrospectionType = "application/token-introspection+jwt"

// openJWTResponse verifies a signed answer (RFC 9701 §5) with the
// issuer's keys and returns its token_introspection member, the answer
// proper.
func (st *introspectionStore) openJWTResponse(ctx context.Context, body, issuer string) (string, error) {
	t, err := parse(body, "")
	if err != nil {
		return "", fmt.Errorf("signed answer: %w", err)
	}
	if normalizeType(t.typ) != "token-introspection+jwt" {
		return "", fmt.Errorf("signed answer: typ %q", t.typ)
	}
	keys, err := st.keyStore.keys(ctx, t.keyQuery())
	if err != nil {
		return "", fmt.Errorf("signed answer: %w", err)
	}
	if err := t.verifySignature(keys); err != nil {
		return "", fmt.Errorf("signed answer: %w", err)
	}
	if t.claimsErr != nil {
		return "", fmt.Errorf("signed answer: %w", t.claimsErr)
	}
	if issuer != "" && t.iss != issuer {
		return "", fmt.Errorf("signed answer: %w: %q", ErrIssuer, t.iss)
	}
	if id := st.cfg.auth.clientID(); !containsAny([]string{id}, t.aud) {
		return "", fmt.Errorf("signed answer: %w: not for client %q", ErrAudience, id)
	}
	answer, ok := strictjson.Find(t.payload, "token_introspection")
	if !ok || answer == "" || answer[0] != '{' {
		return "", errors.New("signed answer: no token_introspection object")
	}
	return answer, nil
}
