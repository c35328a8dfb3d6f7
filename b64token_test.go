package bearer

import "testing"

// TestIsB64Token holds the table-driven check to the grammar of RFC 6750
// §2.1, written out plainly, for every byte at every position around the
// eight-byte blocks.
func TestIsB64Token(t *testing.T) {
	plain := func(s string) bool {
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
				c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
				break
			}
		}
		if i == 0 {
			return false
		}
		for ; i < len(s); i++ {
			if s[i] != '=' {
				return false
			}
		}
		return true
	}
	const base = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.x-_~+/"
	for n := 0; n <= 20; n++ {
		for c := 0; c < 256; c++ {
			for pos := 0; pos <= n; pos++ {
				for _, s := range []string{
					base[:pos] + string([]byte{byte(c)}) + base[pos:n],
					base[:n] + "==" + string([]byte{byte(c)}),
					base[:pos] + "=" + base[pos:n],
				} {
					if got := isB64Token(s); got != plain(s) {
						t.Fatalf("isB64Token(%q) = %v", s, got)
					}
				}
			}
		}
	}
}
