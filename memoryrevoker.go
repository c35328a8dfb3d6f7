package bearer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultMaxTokenLifetime is how long a revocation by subject lasts after
// its cut-off unless RevokerMaxTokenLifetime says otherwise: longer than the
// lifetime of ordinary access tokens (minutes to an hour).
const DefaultMaxTokenLifetime = 24 * time.Hour

// sweepInterval is how often, at most, a change to a MemoryRevoker also
// removes the entries that have lapsed: often enough to bound memory,
// rarely enough that a burst of logouts does not scan the list each time.
const sweepInterval = time.Minute

// MemoryRevoker is a RevocationList held in memory: for a service that runs
// as a single instance, and for tests. Its entries are lost when the
// process ends; List and the Revoke methods can save and restore them.
// Services with several instances share one list with redisrevoke.
//
// It is safe for concurrent use and starts no goroutine: lapsed entries
// are removed on the next change once a minute has passed, and never
// match in between, so the list holds at most the entries whose tokens
// can still be valid plus a minute of changes.
type MemoryRevoker struct {
	lifetime time.Duration
	leeway   time.Duration
	now      func() time.Time

	mu        sync.RWMutex
	ids       map[revocationKey]time.Time // the token's exp
	subjects  map[revocationKey]cutoff
	nextSweep time.Time
}

// revocationKey names the tokens of an entry: jti and sub are unique only
// per issuer.
type revocationKey struct{ iss, name string }

type cutoff struct{ before, expires time.Time }

// A RevokerOption configures NewMemoryRevoker.
type RevokerOption func(*MemoryRevoker) error

// RevokerMaxTokenLifetime sets the longest lifetime (exp − iat) of the tokens the
// service accepts: a revocation by subject lasts that long after its
// cut-off, and then lapses, since every token issued before the cut-off
// has expired. The default is DefaultMaxTokenLifetime. A token that lives
// longer escapes a revocation by subject once the entry lapses.
func RevokerMaxTokenLifetime(d time.Duration) RevokerOption {
	return func(r *MemoryRevoker) error {
		if d <= 0 {
			return fmt.Errorf("bearer: max token lifetime %v is not positive", d)
		}
		r.lifetime = d
		return nil
	}
}

// RevokerLeeway keeps each entry d past the expiry of the tokens it covers.
// Make it at least the middleware's leeway (WithLeeway), which accepts a
// token for that long after its exp: a shorter one lets a revoked token
// back in at the end of its life. The default is DefaultLeeway, the
// middleware's default.
func RevokerLeeway(d time.Duration) RevokerOption {
	return func(r *MemoryRevoker) error {
		if d < 0 {
			return errors.New("bearer: negative revoker leeway")
		}
		r.leeway = d
		return nil
	}
}

// RevokerClock sets the source of the current time, for tests.
func RevokerClock(now func() time.Time) RevokerOption {
	return func(r *MemoryRevoker) error {
		if now == nil {
			return errNilOption("clock")
		}
		r.now = now
		return nil
	}
}

// NewMemoryRevoker returns an empty MemoryRevoker.
func NewMemoryRevoker(opts ...RevokerOption) (*MemoryRevoker, error) {
	r := &MemoryRevoker{
		lifetime: DefaultMaxTokenLifetime,
		leeway:   DefaultLeeway,
		now:      time.Now,
		ids:      make(map[revocationKey]time.Time),
		subjects: make(map[revocationKey]cutoff),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Revoked reports whether t is covered by an entry. It never fails.
func (r *MemoryRevoker) Revoked(_ context.Context, t *Token) (bool, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t.jti != "" {
		if exp, ok := r.ids[revocationKey{t.iss, t.jti}]; ok && r.live(exp) {
			return true, nil
		}
	}
	if t.sub != "" {
		c, ok := r.subjects[revocationKey{t.iss, t.sub}]
		// A token without iat has a zero IssuedAt, before any cut-off.
		if ok && t.iat.Before(c.before) && r.live(c.expires) {
			return true, nil
		}
	}
	return false, nil
}

// live reports whether an entry that expires at expires still counts.
func (r *MemoryRevoker) live(expires time.Time) bool {
	return r.now().Before(expires.Add(r.leeway))
}

// RevokeToken revokes t by its iss, jti and exp. A token without jti or
// exp cannot be revoked by ID: the error wraps ErrNotRevocable.
func (r *MemoryRevoker) RevokeToken(ctx context.Context, t *Token) error {
	if t == nil {
		return errNilToken
	}
	return r.RevokeID(ctx, t.iss, t.jti, t.exp)
}

// RevokeID revokes the token with jti id from issuer until expiry, its
// exp. A token that has already expired needs no entry.
func (r *MemoryRevoker) RevokeID(_ context.Context, issuer, id string, expiry time.Time) error {
	if err := CheckRevocation(Revocation{Issuer: issuer, TokenID: id, Expires: expiry}); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := revocationKey{issuer, id}
	if r.live(expiry) && expiry.After(r.ids[k]) {
		r.ids[k] = expiry
	}
	r.sweep()
	return nil
}

// RevokeSubject revokes every token of subject from issuer issued before
// before, until before plus RevokerMaxTokenLifetime.
func (r *MemoryRevoker) RevokeSubject(_ context.Context, issuer, subject string, before time.Time) error {
	if err := CheckRevocation(Revocation{Issuer: issuer, Subject: subject, Before: before}); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := revocationKey{issuer, subject}
	c := cutoff{before, before.Add(r.lifetime)}
	if r.live(c.expires) && before.After(r.subjects[k].before) {
		r.subjects[k] = c
	}
	r.sweep()
	return nil
}

// Unrevoke removes the entry that rev names, by Issuer and TokenID or by
// Issuer and Subject.
func (r *MemoryRevoker) Unrevoke(_ context.Context, rev Revocation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rev.TokenID != "" && rev.Subject != "":
		return errBothNames
	case rev.TokenID != "":
		delete(r.ids, revocationKey{rev.Issuer, rev.TokenID})
	case rev.Subject != "":
		delete(r.subjects, revocationKey{rev.Issuer, rev.Subject})
	default:
		return errNoName
	}
	return nil
}

// List returns the entries that have not lapsed.
func (r *MemoryRevoker) List(context.Context) ([]Revocation, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	list := make([]Revocation, 0, len(r.ids)+len(r.subjects))
	for k, exp := range r.ids {
		if r.live(exp) {
			list = append(list, Revocation{Issuer: k.iss, TokenID: k.name, Expires: exp})
		}
	}
	for k, c := range r.subjects {
		if r.live(c.expires) {
			list = append(list, Revocation{Issuer: k.iss, Subject: k.name, Before: c.before, Expires: c.expires})
		}
	}
	slices.SortFunc(list, func(a, b Revocation) int {
		return cmp.Or(
			cmp.Compare(a.Issuer, b.Issuer),
			cmp.Compare(a.Subject, b.Subject), // "" (by token ID) first
			cmp.Compare(a.TokenID, b.TokenID))
	})
	return list, nil
}

// sweep removes lapsed entries, at most once per sweepInterval. The caller
// holds the write lock.
func (r *MemoryRevoker) sweep() {
	now := r.now()
	if now.Before(r.nextSweep) {
		return
	}
	r.nextSweep = now.Add(sweepInterval)
	for k, exp := range r.ids {
		if !r.live(exp) {
			delete(r.ids, k)
		}
	}
	for k, c := range r.subjects {
		if !r.live(c.expires) {
			delete(r.subjects, k)
		}
	}
}
