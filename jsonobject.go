package bearer

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The verifier reads headers and claims with this small scanner instead of
// decoding them into maps: it allocates nothing for names and values without
// escapes, and it sees duplicate member names, which encoding/json silently
// resolves to the last one (RFC 7515 §5.2 and RFC 7519 §4 ask for rejection).
//
// It checks the JSON grammar (RFC 8259) as it goes, in the same pass that
// finds the members, so that a token is read once instead of once by
// json.Valid and once more here. It is stricter than json.Valid in one way:
// strings must be valid UTF-8 (RFC 8259 §8.1), where encoding/json would
// quietly replace bad bytes and could so make two distinct names equal.

// maxNesting bounds how deeply arrays and objects may nest, the top object
// included, as encoding/json bounds it: a token cannot make the scanner's
// stack grow without limit.
const maxNesting = 10000

// objectScanner iterates the members of a JSON object.
type objectScanner struct {
	data    string
	pos     int
	members int
	done    bool       // the closing brace was read, or the text is malformed
	bad     bool       // the text is not one well-formed JSON object
	seen    [16]string // the first member names, for the duplicate check
	nseen   int
	index   map[string]struct{} // replaces seen for objects with many members
}

// reset starts scanning data; ok is false when data does not start with an
// object.
func (s *objectScanner) reset(data string) bool {
	*s = objectScanner{data: data}
	s.pos = skipSpace(data, 0)
	if s.pos >= len(data) || data[s.pos] != '{' {
		s.done, s.bad = true, true
		return false
	}
	s.pos++
	return true
}

// next returns the next member: its name (unescaped) and its value as raw,
// well-formed JSON text. dup reports that the name appeared before. ok is
// false at the end of the object and on malformed text; valid then tells
// which.
func (s *objectScanner) next() (name, value string, dup, ok bool) {
	if s.done {
		return "", "", false, false
	}
	d := s.data
	i := skipSpace(d, s.pos)
	if i < len(d) && d[i] == '}' {
		s.done = true
		s.bad = skipSpace(d, i+1) != len(d) // nothing may follow the object
		return "", "", false, false
	}
	if s.members > 0 {
		if i >= len(d) || d[i] != ',' {
			return s.fail()
		}
		i = skipSpace(d, i+1)
	}
	end, ok := scanString(d, i)
	if !ok {
		return s.fail()
	}
	name = unquote(d[i:end])
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		return s.fail()
	}
	i = skipSpace(d, i+1)
	if end, ok = scanValue(d, i); !ok {
		return s.fail()
	}
	value = d[i:end]
	s.pos = end
	s.members++
	return name, value, s.remember(name), true
}

func (s *objectScanner) fail() (name, value string, dup, ok bool) {
	s.done, s.bad = true, true
	return "", "", false, false
}

// valid reports, once next has returned false, whether the text was one
// well-formed JSON object.
func (s *objectScanner) valid() bool { return s.done && !s.bad }

// remember records name and reports whether it, or a name equal to it
// under Unicode case folding, was already there. Claim names are case
// sensitive (RFC 7519 §10.1.1), but encoding/json, which Decode and
// ClaimsFrom use, matches struct fields case-insensitively: {"sub":"alice",
// "SUB":"admin"} would verify as alice and decode as admin. Such objects are
// refused. Claims sets are small, so a linear search over an array is the
// fast path (an array, not a slice of it, so that the scanner stays on the
// stack); a map takes over for hostile objects with many members, which
// would make the search quadratic.
func (s *objectScanner) remember(name string) bool {
	name = foldKey(name)
	if s.index != nil {
		if _, ok := s.index[name]; ok {
			return true
		}
		s.index[name] = struct{}{}
		return false
	}
	for _, n := range s.seen[:s.nseen] {
		// Length and first byte first: most names differ there, and
		// the comparison need not call into the runtime.
		if len(n) == len(name) && (n == "" || n[0] == name[0]) && n == name {
			return true
		}
	}
	if s.nseen == len(s.seen) {
		s.index = make(map[string]struct{}, 2*len(s.seen))
		for _, n := range s.seen {
			s.index[n] = struct{}{}
		}
		s.index[name] = struct{}{}
		return false
	}
	s.seen[s.nseen] = name
	s.nseen++
	return false
}

// foldKey returns the same string for names equal under simple case
// folding, as bytes.EqualFold and encoding/json compare them. Lower-case
// ASCII names, nearly all claim names, are their own key and cost nothing.
func foldKey(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return foldSlow(name)
		}
	}
	return name
}

func foldSlow(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		// The least lower-case form in r's folding orbit stands for all
		// of it: 'K', 'k' and the Kelvin sign all become 'k', so that a
		// lower-case ASCII name is its own key.
		least := unicode.ToLower(r)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, unicode.ToLower(f))
		}
		b.WriteRune(least)
	}
	return b.String()
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

// scanString returns the index just past the string literal at d[i], and
// whether it is one: control characters must be escaped, escapes must be
// those of RFC 8259 §7, and the text must be UTF-8.
func scanString(d string, i int) (int, bool) {
	if i >= len(d) || d[i] != '"' {
		return i, false
	}
	i++
	// Fast path: eight plain characters at a time, with one branch.
	for i+8 <= len(d) {
		b := d[i : i+8]
		if plainChar[b[0]]&plainChar[b[1]]&plainChar[b[2]]&plainChar[b[3]]&
			plainChar[b[4]]&plainChar[b[5]]&plainChar[b[6]]&plainChar[b[7]] == 0 {
			break
		}
		i += 8
	}
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(d) {
				return i, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(d[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
	return i, false
}

// plainChar is 1 for the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var plainChar = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		if c != '"' && c != '\\' {
			t[c] = 1
		}
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber returns the index just past the number at d[i]:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func scanNumber(d string, i int) (int, bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = skipDigits(d, i+1)
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		j := skipDigits(d, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func skipDigits(d string, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// scanValue returns the index just past the JSON value at d[i] and whether
// it is well formed. Arrays and objects are walked without recursion; open
// records, for each level, whether it is an object.
func scanValue(d string, i int) (int, bool) {
	var stack [64]bool
	open := stack[:0]
	var ok bool
	for {
		// A value starts at i.
		if i >= len(d) {
			return i, false
		}
		switch d[i] {
		case '{', '[':
			if len(open) == maxNesting-1 { // the member's object is one level
				return i, false
			}
			obj := d[i] == '{'
			i = skipSpace(d, i+1)
			if i < len(d) && d[i] == closer(obj) {
				i++
				break
			}
			open = append(open, obj)
			if obj {
				if i, ok = scanName(d, i); !ok {
					return i, false
				}
			}
			continue
		case '"':
			if i, ok = scanString(d, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = scanLiteral(d, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = scanLiteral(d, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = scanLiteral(d, i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = scanNumber(d, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close what it ends, or go on to the next
		// element or member.
		for {
			if len(open) == 0 {
				return i, true
			}
			obj := open[len(open)-1]
			i = skipSpace(d, i)
			if i >= len(d) {
				return i, false
			}
			if d[i] == closer(obj) {
				open = open[:len(open)-1]
				i++
				continue
			}
			if d[i] != ',' {
				return i, false
			}
			i = skipSpace(d, i+1)
			if obj {
				if i, ok = scanName(d, i); !ok {
					return i, false
				}
			}
			break
		}
	}
}

func closer(obj bool) byte {
	if obj {
		return '}'
	}
	return ']'
}

// scanName reads `"name" :` and the space after it, up to the member's
// value.
func scanName(d string, i int) (int, bool) {
	i, ok := scanString(d, i)
	if !ok {
		return i, false
	}
	i = skipSpace(d, i)
	if i >= len(d) || d[i] != ':' {
		return i, false
	}
	return skipSpace(d, i+1), true
}

func scanLiteral(d string, i int, lit string) (int, bool) {
	if len(d)-i < len(lit) || d[i:i+len(lit)] != lit {
		return i, false
	}
	return i + len(lit), true
}

// skipString returns the index just past the well-formed string starting
// at d[i] == '"'.
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

// unquote returns the content of the well-formed JSON string literal q.
func unquote(q string) string {
	body := q[1 : len(q)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			var s string
			json.Unmarshal([]byte(q), &s) // well formed: cannot fail
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
	// Whole seconds, as nearly every issuer writes them, without
	// ParseFloat: up to 15 digits are exact in a float64.
	if len(v) <= 15 && skipDigits(v, 0) == len(v) {
		n := 0
		for i := 0; i < len(v); i++ {
			n = n*10 + int(v[i]-'0')
		}
		return float64(n), true
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// forEachString calls fn for each element of a well-formed array of
// strings and reports false if v is not one.
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
