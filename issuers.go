package bearer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// TrustedIssuer is one issuer of Issuers.
type TrustedIssuer struct {
	// Issuer is the exact iss of this issuer's tokens. It may be left
	// empty when Keys is a Discover source, which knows its issuer.
	Issuer string
	// Keys verify this issuer's tokens: RemoteJWKS, Discover or a static
	// source.
	Keys KeySource
	// Audience, when set, replaces WithAudience for this issuer's tokens:
	// their aud must name one of these.
	Audience []string
}

// Issuers trusts several issuers, each with its own keys and audiences:
//
//	m, err := bearer.New(bearer.Issuers(
//		bearer.TrustedIssuer{Keys: bearer.Discover("https://login.example.com"), Audience: []string{"api"}},
//		bearer.TrustedIssuer{
//			Issuer:   "https://partner.example.org",
//			Keys:     bearer.RemoteJWKS("https://partner.example.org/keys"),
//			Audience: []string{"https://api.example.com"},
//		},
//	))
//
// A token's iss, read before its signature is checked, selects the issuer
// and so the only keys that may verify it: a token can never be verified
// with another issuer's key. A token of an issuer not listed is refused
// (401 invalid_token, ErrIssuer) before any key lookup, without network
// traffic. WithIssuer, if given, must name trusted issuers and narrows the
// set; WithAudience applies to the issuers that set no Audience.
// Middleware.Ready waits for the keys of every issuer.
func Issuers(issuers ...TrustedIssuer) KeySource {
	return issuersSource(slices.Clone(issuers))
}

type issuersSource []TrustedIssuer

func (s issuersSource) open(env sourceEnv) (keyStore, error) {
	if len(s) == 0 {
		return nil, errors.New("bearer: Issuers needs at least one issuer")
	}
	ms := &multiStore{byIssuer: make(map[string]keyStore), audiences: make(map[string][]string)}
	for _, ti := range s {
		store, err := openTrusted(ti, env, ms)
		if err != nil {
			ms.close()
			return nil, err
		}
		ms.stores = append(ms.stores, store)
	}
	return ms, nil
}

// openTrusted opens one issuer's source and records it in ms.
func openTrusted(ti TrustedIssuer, env sourceEnv, ms *multiStore) (keyStore, error) {
	if ti.Keys == nil {
		return nil, fmt.Errorf("bearer: issuer %q has no Keys", ti.Issuer)
	}
	if _, nested := ti.Keys.(issuersSource); nested {
		return nil, errors.New("bearer: Issuers inside Issuers")
	}
	if slices.Contains(ti.Audience, "") {
		return nil, fmt.Errorf("bearer: issuer %q has an empty audience", ti.Issuer)
	}
	store, err := ti.Keys.open(env)
	if err != nil {
		return nil, within(fmt.Sprintf("issuer %q", ti.Issuer), err)
	}
	iss := ti.Issuer
	if bound := store.issuers(); bound != nil {
		if _, ok := bound[iss]; !ok && iss != "" {
			store.close()
			return nil, fmt.Errorf("bearer: issuer %q: its key source is bound to another issuer", iss)
		}
		for b := range bound {
			iss = b // a Discover source is bound to exactly one
		}
	}
	if iss == "" {
		store.close()
		return nil, errors.New("bearer: a trusted issuer needs an Issuer (only Discover knows its own)")
	}
	if _, dup := ms.byIssuer[iss]; dup {
		store.close()
		return nil, fmt.Errorf("bearer: issuer %q listed twice", iss)
	}
	if is, ok := store.(*introspectionStore); ok {
		// An opaque token has no iss to select its issuer by: it goes to
		// the one introspection endpoint, never to another issuer's.
		if ms.opaque != nil {
			store.close()
			return nil, fmt.Errorf("bearer: issuer %q: a second Introspection source (opaque tokens name no issuer)", iss)
		}
		is.bindIssuer(iss)
		ms.opaque = is
	}
	ms.byIssuer[iss] = store
	ms.audiences[iss] = nil
	if len(ti.Audience) > 0 {
		ms.audiences[iss] = slices.Clone(ti.Audience)
	}
	return store, nil
}

// multiStore is an opened Issuers.
type multiStore struct {
	byIssuer  map[string]keyStore
	audiences map[string][]string // nil: WithAudience applies
	stores    []keyStore
	opaque    *introspectionStore // the issuer whose opaque tokens are introspected, or nil
}

func (ms *multiStore) introspection() *introspectionStore { return ms.opaque }

func (ms *multiStore) keys(ctx context.Context, q keyQuery) ([]*verifyKey, error) {
	s, ok := ms.byIssuer[q.iss]
	if !ok {
		return nil, errIssuer
	}
	return s.keys(ctx, q)
}

func (ms *multiStore) ready(ctx context.Context, wait bool) error {
	for iss, s := range ms.byIssuer {
		if err := s.ready(ctx, wait); err != nil {
			return within(fmt.Sprintf("issuer %q", iss), err)
		}
	}
	return nil
}

// refetch refreshes every issuer's keys, at once: one slow provider does
// not hold back the others.
func (ms *multiStore) refetch(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for iss, s := range ms.byIssuer {
		wg.Go(func() {
			if err := s.refetch(ctx); err != nil {
				mu.Lock()
				errs = append(errs, within(fmt.Sprintf("issuer %q", iss), err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (ms *multiStore) issuers() map[string][]string { return ms.audiences }

func (ms *multiStore) close() error {
	var errs []error
	for _, s := range ms.stores {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// bindIssuers adopts the issuers a key source is bound to (Discover,
// Issuers): they become the accepted issuers, each with its own audiences.
// WithIssuer may narrow them but not add to them: another issuer's tokens
// would be checked with keys that are not its own.
func (m *Middleware) bindIssuers(bound map[string][]string) error {
	if len(m.issuers) == 0 {
		for iss := range bound {
			m.issuers = append(m.issuers, iss)
		}
		slices.Sort(m.issuers)
	}
	for _, iss := range m.issuers {
		if _, ok := bound[iss]; !ok {
			return fmt.Errorf("bearer: WithIssuer(%q): the key source does not trust that issuer", iss)
		}
	}
	for iss, aud := range bound {
		if aud != nil {
			if m.issuerAud == nil {
				m.issuerAud = make(map[string][]string)
			}
			m.issuerAud[iss] = aud
		}
	}
	return nil
}
