package bearer

import (
	"encoding/json"
	"strconv"
)

// The verifier reads headers and claims with this small scanner instead of
// decoding them into maps: it allocates nothing for names and values without
// escapes, and it sees duplicate member names, which encoding/json silently
// resolves to the last one (RFC 7515 §5.2 and RFC 7519 §4 ask for rejection).
// It runs only on text json.Valid has accepted, so it need not re-validate.

// objectScanner iterates the members of a JSON object.
type objectScanner struct {
	data  string
	pos   int
	seen  []string // member names so far, for the duplicate check
	buf   [16]string
	index map[string]struct{} // replaces seen for objects with many members
}

// reset starts scanning data, which must be valid JSON; ok is false
// when it is not an object.
func (s *objectScanner) reset(data string) bool {
	s.data = data
	s.pos = skipSpace(data, 0)
	s.seen = s.buf[:0]
	s.index = nil
	if s.pos >= len(data) || data[s.pos] != '{' {
		return false
	}
	s.pos++
	return true
}

// next returns the next member: its name (unescaped) and its value as raw
// JSON text. dup reports that the name appeared before.
func (s *objectScanner) next() (name, value string, dup, ok bool) {
	d := s.data
	i := skipSpace(d, s.pos)
	if d[i] == ',' {
		i = skipSpace(d, i+1)
	}
	if d[i] == '}' {
		s.pos = i + 1
		return "", "", false, false
	}
	end := skipString(d, i)
	name = unquote(d[i:end])
	i = skipSpace(d, end)
	i = skipSpace(d, i+1) // the colon
	end = skipValue(d, i)
	value = d[i:end]
	s.pos = end
	dup = s.remember(name)
	return name, value, dup, true
}

// remember records name and reports whether it was already there. Claims
// sets are small, so a linear search over a stack array is the fast path; a
// map takes over for hostile objects with many members, which would make
// the search quadratic.
func (s *objectScanner) remember(name string) bool {
	if s.index != nil {
		if _, ok := s.index[name]; ok {
			return true
		}
		s.index[name] = struct{}{}
		return false
	}
	for _, n := range s.seen {
		if n == name {
			return true
		}
	}
	if len(s.seen) == len(s.buf) {
		s.index = make(map[string]struct{}, 2*len(s.buf))
		for _, n := range s.seen {
			s.index[n] = struct{}{}
		}
		s.index[name] = struct{}{}
		return false
	}
	s.seen = append(s.seen, name)
	return false
}

// findMember returns the raw value of the member called name.
func findMember(data, name string) (string, bool) {
	var s objectScanner
	if !s.reset(data) {
		return "", false
	}
	for {
		n, v, _, ok := s.next()
		if !ok {
			return "", false
		}
		if n == name {
			return v, true
		}
	}
}

func skipSpace(d string, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at d[i] == '"'.
func skipString(d string, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just past the value starting at d[i].
func skipValue(d string, i int) int {
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				i = skipString(d, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(d) {
		switch d[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// unquote returns the content of the JSON string literal q.
func unquote(q string) string {
	body := q[1 : len(q)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			var s string
			json.Unmarshal([]byte(q), &s) // valid JSON: cannot fail
			return s
		}
	}
	return body
}

// jsonString reads a string value.
func jsonString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return unquote(v), true
}

// jsonNumber reads a number value; strings, booleans and null are not
// numbers (RFC 7519 §2, NumericDate).
func jsonNumber(v string) (float64, bool) {
	if v == "" || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// forEachString calls fn for each element of an array of strings and
// reports false if v is not one.
func forEachString(v string, fn func(string)) bool {
	if len(v) < 2 || v[0] != '[' {
		return false
	}
	i := skipSpace(v, 1)
	for i < len(v) && v[i] != ']' {
		if v[i] != '"' {
			return false
		}
		end := skipString(v, i)
		fn(unquote(v[i:end]))
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return true
}
