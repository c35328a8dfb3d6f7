package bearer

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
