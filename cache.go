package bearer

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"sync/atomic"
)

// The verified-token cache (WithTokenCache) remembers tokens that passed
// verification, so that a client sending the same token again (the common
// case: a token lives for minutes to hours and rides on every call) skips
// the parsing and the signature check. It never changes an answer:
//
//   - it is keyed by the exact token text;
//   - only tokens that passed every check are stored, never failures;
//   - what can change between two requests with the same token is checked
//     on every hit: exp, nbf and iat against the middleware's clock and
//     leeway, the validators (WithValidator), revocation (WithRevocation),
//     and the key: the key source is asked again for the token's keys, and
//     the key that verified the token must still be among them, so a key
//     withdrawn from its source (rotation, compromise), or replaced under
//     the same kid, stops its tokens on the next request (a replaced key
//     gets the token verified afresh);
//   - what cannot change (signature, alg, typ, iss, aud, required claims,
//     all fixed by the token's bytes and the immutable configuration) is
//     not checked again.
//
// The table is a fixed array of slots, four per set, read and written with
// atomic pointer operations: no lock, so parallel requests scale. A new
// token replaces an empty slot of its set or the one expiring first; two
// requests racing for a slot may lose one entry, never mix two.

// DefaultTokenCacheEntries is the size of the verified-token cache unless
// WithTokenCache says otherwise. The cache is on by default because a hit
// gives the answer a fresh verification would give, only sooner; 1024
// tokens of at most 4 KiB bound it to about 8 MiB (2 MiB for typical 1 KiB
// tokens), which a service that sees more distinct clients raises.
const DefaultTokenCacheEntries = 1024

// maxCachedTokenSize bounds the tokens the cache keeps, and so its memory
// with the entry count: an entry holds the token, its decoded header and
// claims (3/4 of its size) and about 400 bytes more, so 1024 tokens of at
// most 4 KiB hold about 8 MiB. Larger tokens are verified on every request.
const maxCachedTokenSize = 4 << 10

const cacheWays = 4

// tokenCache maps token text to the verified *Token.
type tokenCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
	sets  uint64 // len(slots) / cacheWays, a power of two
}

// cacheEntry is immutable once stored.
type cacheEntry struct {
	hash  uint64
	until int64 // exp in Unix seconds, or MaxInt64: what eviction looks at
	token *Token
}

// newTokenCache holds entries tokens, rounded up to a power of two.
func newTokenCache(entries int) *tokenCache {
	sets := uint64(1)
	for sets*cacheWays < uint64(entries) {
		sets <<= 1
	}
	return &tokenCache{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[cacheEntry], sets*cacheWays),
		sets:  sets,
	}
}

// hash returns raw's hash, and false for tokens the cache does not keep.
// The seed is random per cache, so a client cannot aim tokens at one set.
func (c *tokenCache) hash(raw string) (uint64, bool) {
	if c == nil || len(raw) > maxCachedTokenSize {
		return 0, false
	}
	return maphash.String(c.seed, raw), true
}

func (c *tokenCache) set(h uint64) []atomic.Pointer[cacheEntry] {
	i := (h & (c.sets - 1)) * cacheWays
	return c.slots[i : i+cacheWays]
}

// get returns the entry for raw, whose hash is h, or nil. The text is
// compared only after the 64-bit hash matched, so the comparison, which is
// not constant-time, only ever runs on the token that is cached: a client
// without it cannot reach that comparison.
func (c *tokenCache) get(h uint64, raw string) *cacheEntry {
	set := c.set(h)
	for i := range set {
		if e := set[i].Load(); e != nil && e.hash == h && e.token.raw == raw {
			return e
		}
	}
	return nil
}

// put stores t, whose text hashes to h, in an empty slot of its set or in
// place of the entry that expires first.
func (c *tokenCache) put(h uint64, t *Token) {
	e := &cacheEntry{hash: h, until: math.MaxInt64, token: t}
	if !t.exp.IsZero() {
		e.until = t.exp.Unix()
	}
	set := c.set(h)
	victim := 0
	var old *cacheEntry
	for i := range set {
		cur := set[i].Load()
		if cur == nil {
			victim, old = i, nil
			break
		}
		if cur.hash == h && cur.token.raw == t.raw {
			return // a concurrent request stored it already
		}
		if old == nil || cur.until < old.until {
			victim, old = i, cur
		}
	}
	set[victim].CompareAndSwap(old, e) // lost to a concurrent put: fine
}

// remove drops e if it is still cached.
func (c *tokenCache) remove(e *cacheEntry) {
	set := c.set(e.hash)
	for i := range set {
		if set[i].CompareAndSwap(e, nil) {
			return
		}
	}
}

// verifyCached answers a request whose token is cached: the checks that
// can change between requests, and nothing else. ok is false when the
// token must be verified afresh: it is not cached, or the key that verified
// it is no longer what the key source offers for it.
func (m *Middleware) verifyCached(ctx context.Context, h uint64, raw string) (t *Token, ok bool, err error) {
	e := m.cache.get(h, raw)
	if e == nil {
		return nil, false, nil
	}
	t = e.token
	keys, err := m.keys.keys(ctx, t.keyQuery())
	if err != nil {
		m.cache.remove(e)
		return nil, true, err
	}
	if !slices.Contains(keys, t.key) {
		m.cache.remove(e)
		return nil, false, nil
	}
	if err := m.checkEachRequest(ctx, t); err != nil {
		if errors.Is(err, ErrExpired) {
			m.cache.remove(e) // it will not come back
		}
		return nil, true, err
	}
	return t, true, nil
}
