package bearer

import (
	"context"
	"sync/atomic"
)

// CachedTokens counts the tokens in m's verified-token cache.
func CachedTokens(m *Middleware) int {
	if m.cache == nil {
		return 0
	}
	n := 0
	for i := range m.cache.slots {
		if m.cache.slots[i].Load() != nil {
			n++
		}
	}
	return n
}

// SwappableKeySet is a KeySource whose JWKS document a test replaces, as a
// remote source replaces its keys when it refreshes: each Set builds new
// keys, even for key material that did not change.
type SwappableKeySet struct {
	store atomic.Pointer[staticStore]
}

// NewSwappableKeySet returns a source serving the keys of jwks.
func NewSwappableKeySet(jwks []byte) (*SwappableKeySet, error) {
	s := &SwappableKeySet{}
	return s, s.Set(jwks)
}

// Set replaces the keys with those of jwks.
func (s *SwappableKeySet) Set(jwks []byte) error {
	raw, err := splitKeySet(jwks)
	if err != nil {
		return err
	}
	keys, _ := parseKeys(raw, keyPolicy{symmetric: true})
	if len(keys) == 0 {
		return ErrNoUsableKey
	}
	s.store.Store(newStaticStore(keys))
	return nil
}

func (s *SwappableKeySet) open(sourceEnv) (keyStore, error) { return s, nil }

func (s *SwappableKeySet) keys(_ context.Context, q keyQuery) ([]*verifyKey, error) {
	return s.store.Load().lookup(q)
}

func (s *SwappableKeySet) close() error { return nil }
