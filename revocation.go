package bearer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Revoker says whether a verified token has been revoked: taken back before
// its exp, because its user logged out, it was stolen, or its subject lost
// access. MemoryRevoker is one for a single instance; redisrevoke shares one
// across instances.
type Revoker interface {
	// Revoked reports whether t, whose signature and claims hold, has been
	// revoked. It runs on every request, so it must answer from memory. A
	// non-nil error means the answer is unknown; the middleware then applies
	// its failure policy (see WithRevocation).
	Revoked(ctx context.Context, t *Token) (bool, error)
}

// RevocationList is a Revoker that can be changed: the admin side, for an
// application's logout endpoint or an operator's tool. MemoryRevoker and
// redisrevoke implement it.
//
// Entries are of two kinds, each bounded by the expiry of the tokens it
// covers so that a list never grows without limit:
//
//   - by token ID: the token with this jti from this issuer, until its exp.
//     Tokens without jti cannot be revoked this way (ErrNotRevocable).
//   - by subject: every token of this sub from this issuer whose iat is
//     before a cut-off time ("log out everywhere"), until the cut-off plus
//     the longest token lifetime accepted (RevokerMaxTokenLifetime). A token
//     without iat counts as issued before any cut-off, so it is refused
//     while the entry lasts. iat has whole seconds with most issuers, so a
//     token issued in the same second as the cut-off, even just after it,
//     is refused too.
//
// jti and sub are unique only per issuer, so every entry names its issuer
// ("" for tokens without iss), and a token matches only entries of its own
// iss. Each entry is kept a leeway past its expiry (RevokerLeeway), so that
// a revoked token stays refused while the middleware's leeway would still
// accept it.
type RevocationList interface {
	Revoker
	// RevokeToken revokes t by its ID: its iss, jti and exp.
	RevokeToken(ctx context.Context, t *Token) error
	// RevokeID revokes the token with jti id from issuer, which expires at
	// expiry.
	RevokeID(ctx context.Context, issuer, id string, expiry time.Time) error
	// RevokeSubject revokes every token of subject from issuer issued
	// before the cut-off before. A later cut-off replaces an earlier one;
	// an earlier one changes nothing.
	RevokeSubject(ctx context.Context, issuer, subject string, before time.Time) error
	// Unrevoke removes the entry that r names (by Issuer and TokenID, or by
	// Issuer and Subject); removing an absent entry is not an error.
	Unrevoke(ctx context.Context, r Revocation) error
	// List returns the current entries, by issuer, kind and name.
	List(ctx context.Context) ([]Revocation, error)
}

// Revocation is an entry of a RevocationList: either TokenID or Subject is
// set.
type Revocation struct {
	Issuer  string    // the iss of the tokens covered; "" for tokens without iss
	TokenID string    // revocation by token ID: the jti
	Subject string    // revocation by subject: the sub
	Before  time.Time // by subject: tokens issued before this are revoked
	// Expires is when the last token the entry covers expires: the
	// token's exp, or Before plus the longest token lifetime accepted.
	Expires time.Time
}

// ErrNotRevocable reports that a token cannot be revoked by its ID because it has no
// jti or no exp. Revoke its subject instead, or rotate the signing key.
var ErrNotRevocable = errors.New("bearer: token cannot be revoked by ID")

// CheckRevocation reports whether rev is an entry a RevocationList
// accepts: a token ID with the token's expiry (else the error wraps
// ErrNotRevocable), or a subject with a cut-off time (Before). A
// revocation that sets Subject or Before is by subject. RevocationList
// implementations call it so that all of them accept the same entries.
func CheckRevocation(rev Revocation) error {
	switch {
	case rev.TokenID != "" && rev.Subject != "":
		return errBothNames
	case rev.Subject != "" || !rev.Before.IsZero():
		if rev.Subject == "" || rev.Before.IsZero() {
			return errors.New("bearer: a revocation by subject needs a subject and a cut-off time")
		}
	case rev.TokenID == "":
		return fmt.Errorf("%w: no jti", ErrNotRevocable)
	case rev.Expires.IsZero():
		return fmt.Errorf("%w: no exp", ErrNotRevocable)
	}
	return nil
}

var (
	errNilToken  = errors.New("bearer: nil token")
	errNoName    = errors.New("bearer: a revocation names a token ID or a subject")
	errBothNames = errors.New("bearer: a revocation names a token ID or a subject, not both")
)

// WithRevocation asks r about every token whose signature and claims hold,
// after every other check (WithValidator included). A revoked token gets
// 401 invalid_token "token revoked", wrapping ErrRevoked.
//
// When r fails (returns an error), the middleware fails closed: 503 with
// error code temporarily_unavailable, "revocation status unavailable" and a
// Retry-After header, wrapping ErrRevocationUnavailable. A 401 would tell
// the client that its token is bad and send it back to log in, which cannot
// help while the revocation list is out of reach; the token may well be
// fine, as with unreachable keys (ErrKeysUnavailable). WithRevocationFailOpen
// accepts the token instead.
func WithRevocation(r Revoker) Option {
	return func(m *Middleware) error {
		if r == nil {
			return errNilOption("Revoker")
		}
		if m.revoker != nil {
			return errors.New("bearer: WithRevocation given twice")
		}
		m.revoker = r
		return nil
	}
}

// WithRevocationFailOpen accepts tokens whose revocation status cannot be
// had (the Revoker of WithRevocation returns an error) instead of
// answering 503. It trades safety for availability: a revoked token passes
// while the Revoker fails. Tokens the Revoker does know to be revoked are
// still refused.
func WithRevocationFailOpen() Option {
	return func(m *Middleware) error {
		m.revocationFailOpen = true
		return nil
	}
}

// checkRevocationConfig refuses a failure policy without a Revoker, which
// is a configuration mistake (the Revoker was probably forgotten).
func (m *Middleware) checkRevocationConfig() error {
	if m.revocationFailOpen && m.revoker == nil {
		return errors.New("bearer: WithRevocationFailOpen without WithRevocation")
	}
	return nil
}

// checkRevocation applies WithRevocation to t, a token whose signature and
// claims hold. It is the one place the revocation check is made: Verify
// calls it last, and a cache of verified tokens must call it on every hit,
// since a token can be revoked after it was first verified.
func (m *Middleware) checkRevocation(ctx context.Context, t *Token) error {
	if m.revoker == nil {
		return nil
	}
	revoked, err := m.revoker.Revoked(ctx, t)
	switch {
	case revoked:
		return errRevoked
	case err != nil && !m.revocationFailOpen:
		return unavailable(fmt.Errorf("%w: %w", ErrRevocationUnavailable, err), errRevocationUnavailable.Description)
	}
	return nil
}
