package bearer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// Verify checks raw, a compact JWS JWT, and returns the verified token. It
// does what the middleware does after extraction, for callers without an
// HTTP request (gRPC, websockets, queues). Every error is an *Error wrapping
// a sentinel.
//
// A token that is not a compact JWS (an opaque token) goes to the key
// source's introspection endpoint, if it has one (Introspection), and is
// checked as the endpoint's answer says; otherwise it is malformed.
//
// The steps for a JWT, in order: size limit; the verified-token cache (a hit goes
// straight to the per-request checks); JWS compact parse with the header
// (crit and "none" refused there); the alg allowlist and typ; the
// unverified issuer, which selects the keys; key lookup; signature; only
// then the verdict on the claims set's form; exp, nbf, iat, aud, required
// claims; and, on every request, validators and revocation
// (WithRevocation).
//
// A token bound to a key (a cnf claim, RFC 7800) is refused here: without
// a proof of possession it is just a stolen token. See WithDPoP.
func (m *Middleware) Verify(ctx context.Context, raw string) (*Token, error) {
	t, _, err := m.verifyBearer(ctx, raw)
	if err != nil {
		return nil, copyError(err)
	}
	return t, nil
}

// verifyBearer is Verify that also tells whether the verified-token cache
// answered, for the Observer.
func (m *Middleware) verifyBearer(ctx context.Context, raw string) (*Token, bool, error) {
	t, cached, err := m.verify(ctx, raw)
	if err != nil {
		return nil, false, err
	}
	if t.cnf != "" {
		return nil, false, errBoundToken
	}
	return t, cached, nil
}

// verify is Verify without the binding check, which the DPoP path does
// its own way. cached says whether the verified-token cache answered.
func (m *Middleware) verify(ctx context.Context, raw string) (t *Token, cached bool, err error) {
	if len(raw) > m.maxSize {
		return nil, false, errTooLarge
	}
	// An opaque token goes to the introspection endpoint, if there is one,
	// and never into the verified-token cache, which holds JWTs only.
	if o, ok := m.keys.(opaqueTokens); ok && !isCompactJWS(raw) {
		if st := o.introspection(); st != nil {
			return m.verifyOpaque(ctx, st, raw)
		}
	}
	h, cacheable := m.cache.hash(raw)
	if cacheable {
		if t, hit, err := m.verifyCached(ctx, h, raw); hit {
			return t, err == nil, err
		}
	}
	if t, err = m.verifyAll(ctx, raw); err != nil {
		return nil, false, err
	}
	if cacheable {
		m.cache.put(h, t) // only tokens that passed every check
	}
	return t, false, nil
}

// verifyAll does every check on raw.
func (m *Middleware) verifyAll(ctx context.Context, raw string) (*Token, error) {
	t, err := parse(raw, m.scopeClaim)
	if err == errAlgorithm {
		return nil, headerAlgorithm(raw)
	}
	if err != nil {
		return nil, err
	}
	if !m.allow.has(t.alg) {
		return nil, m.algorithmRejected(t)
	}
	if m.tokenType != "" && normalizeType(t.typ) != m.tokenType {
		return nil, m.typeRejected(t)
	}
	// The unverified iss is checked before any key lookup: a token of an
	// issuer not trusted must cost no fetch, nor select any key. A claims
	// set too malformed to read is judged after the signature instead.
	if t.claimsErr == nil && len(m.issuers) > 0 && !slices.Contains(m.issuers, t.iss) {
		return nil, m.issuerRejected(t)
	}
	keys, err := m.keys.keys(ctx, t.keyQuery())
	if err != nil {
		return nil, m.keyRejected(err, t)
	}
	if err := t.verifySignature(keys); err != nil {
		return nil, signatureRejected(err, t, keys)
	}
	if t.claimsErr != nil {
		return nil, t.claimsErr
	}
	if err := m.validate(ctx, t); err != nil {
		return nil, err
	}
	t.m = m
	return t, nil
}

// keyQuery is what the token says about the key that signed it.
func (t *Token) keyQuery() keyQuery {
	return keyQuery{kid: t.kid, hasKid: t.hasKid, alg: t.alg, iss: t.iss}
}

// validate checks a token whose signature holds, in the order Verify
// documents: the time window, then the claims fixed by the token (aud, required
// claims), then what depends on state outside the token (validators,
// revocation).
func (m *Middleware) validate(ctx context.Context, t *Token) error {
	if err := m.checkTime(t); err != nil {
		return err
	}
	if err := m.checkClaims(t); err != nil {
		return err
	}
	return m.checkState(ctx, t)
}

// checkEachRequest is what a token verified before must pass again on each
// request (see cache.go): the time window, which moves, and the checks of
// state outside the token. Checks that depend only on the token's bytes and
// the configuration are not here.
func (m *Middleware) checkEachRequest(ctx context.Context, t *Token) error {
	if err := m.checkTime(t); err != nil {
		return err
	}
	return m.checkState(ctx, t)
}

// checkState runs the validators, which may look at the request or at
// anything else, then the revocation check (WithRevocation): a token can be
// revoked after it was first verified.
func (m *Middleware) checkState(ctx context.Context, t *Token) error {
	if err := m.runValidators(ctx, t); err != nil {
		return err
	}
	return m.checkRevocation(ctx, t)
}

// checkTime checks exp, nbf and iat against the clock, with leeway.
func (m *Middleware) checkTime(t *Token) error {
	now := m.clock()
	switch {
	case t.exp.IsZero():
		if !m.expiryOptional {
			return errMissingExpiry
		}
	case !now.Before(t.exp.Add(m.leeway)):
		return m.expiryRejected(t, now)
	}
	if !t.nbf.IsZero() && now.Add(m.leeway).Before(t.nbf) {
		return m.notBeforeRejected(t, now)
	}
	if !t.iat.IsZero() && now.Add(m.leeway).Before(t.iat) {
		return m.issuedAtRejected(t, now)
	}
	return nil
}

// checkClaims checks the claims that only the token and the configuration
// decide (iss was checked before the key lookup).
func (m *Middleware) checkClaims(t *Token) error {
	audiences := m.audiences
	if aud, ok := m.issuerAud[t.iss]; ok {
		audiences = aud
	}
	if len(audiences) > 0 && !containsAny(audiences, t.aud) {
		return audienceRejected(t, audiences)
	}
	if t.present&m.required.registered != m.required.registered {
		return missingClaim(firstMissing(m.required.registered, t.present))
	}
	for _, name := range m.required.others {
		if v, ok := strictjson.Find(t.payload, name); !ok || v == "null" {
			return missingClaim(name)
		}
	}
	if m.refuseIDTokens && isIDToken(t) {
		return errIDToken
	}
	return nil
}

func (m *Middleware) runValidators(ctx context.Context, t *Token) error {
	for _, validate := range m.validators {
		if err := validate(ctx, t); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e
			}
			return invalidToken(fmt.Errorf("%w: %w", ErrRejected, err), "token rejected")
		}
	}
	return nil
}

func containsAny(list, values []string) bool {
	for _, v := range values {
		if slices.Contains(list, v) {
			return true
		}
	}
	return false
}

// normalizeType compares typ values as RFC 7515 §4.1.9 says: case
// insensitively, with the "application/" prefix optional.
func normalizeType(typ string) string {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/")
}
