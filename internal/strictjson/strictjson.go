// Package strictjson reads the JSON objects of JOSE headers and JWT claims
// sets as a verifier must.
//
// The verifier reads headers and claims with this small scanner instead of
// decoding them into maps: it allocates nothing for names and values without
// escapes, and it sees duplicate member names, which encoding/json silently
// resolves to the last one (RFC 7515 §5.2 and RFC 7519 §4 ask for rejection).
//
// It checks the JSON grammar (RFC 8259) as it goes, in the same pass that
// finds the members, so that a token is read once instead of once by
// json.Valid and once more here. It is stricter than json.Valid in two ways:
// strings must be valid UTF-8 (RFC 8259 §8.1), where encoding/json would
// quietly replace bad bytes and could so make two distinct names equal; and
// an object below the top level may not repeat a member name, exactly or
// under case folding. Strings decode as encoding/json decodes them, so that
// what the verifier reads is what a handler decodes.
package strictjson

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxNesting bounds how deeply arrays and objects may nest, the top object
// included, as encoding/json bounds it: a token cannot make the scanner's
// stack grow without limit.
const MaxNesting = 10000

// Scanner iterates the members of a JSON object; Reset starts it. Next on
// a zero Scanner reports no member, and Valid is false.
type Scanner struct {
	data    string
	pos     int
	members int
	done    bool       // the closing brace was read, or the text is malformed
	bad     bool       // the text is not one well-formed JSON object
	seen    [16]string // the first member names, for the duplicate check
	nseen   int
	index   map[string]struct{} // replaces seen for objects with many members
	text    arena               // unescaped and folded names
}

// Reset starts scanning data; it returns false when data does not start with an
// object.
func (s *Scanner) Reset(data string) bool {
	*s = Scanner{data: data}
	s.pos = skipSpace(data, 0)
	if s.pos >= len(data) || data[s.pos] != '{' {
		s.done, s.bad = true, true
		return false
	}
	s.pos++
	return true
}

// Next returns the next member: its name (unescaped) and its value as raw,
// well-formed JSON text. dup reports that the name, or one equal to it
// under case folding, appeared before. ok is false at the end of the object
// and on malformed text; Valid then tells which.
func (s *Scanner) Next() (name, value string, dup, ok bool) {
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
	name = s.text.unquote(d[i:end])
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

func (s *Scanner) fail() (name, value string, dup, ok bool) {
	s.done, s.bad = true, true
	return "", "", false, false
}

// Valid reports, once Next has returned false, whether the text was one
// well-formed JSON object.
func (s *Scanner) Valid() bool { return s.done && !s.bad }

// remember records name and reports whether it, or a name equal to it
// under Unicode case folding, was already there. Claim names are case
// sensitive (RFC 7519 §10.1.1), but encoding/json, which a verifier's
// callers may decode claims with, matches struct fields case-insensitively: {"sub":"alice",
// "SUB":"admin"} would verify as alice and decode as admin. Such objects are
// refused. Claims sets are small, so a linear search over an array is the
// fast path (an array, not a slice of it, so that the scanner stays on the
// stack); a map takes over for hostile objects with many members, which
// would make the search quadratic.
func (s *Scanner) remember(name string) bool {
	name = s.text.fold(name)
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

// Find returns the raw value of the member called name.
func Find(data, name string) (string, bool) {
	var s Scanner
	if !s.Reset(data) {
		return "", false
	}
	for {
		n, v, _, ok := s.Next()
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
// it is well formed. Arrays and objects are walked without recursion, and
// a member name that repeats one of its object's (under case folding, as
// at the top level) makes the value malformed, at any depth: encoding/json
// keeps the last of duplicates where a reader of the first would see
// another value (cnf.jkt, act.sub).
func scanValue(d string, i int) (int, bool) {
	var stack [64]openValue
	open := stack[:0]
	var names memberNames
	objects := 0
	var ok bool
	for {
		// A value starts at i.
		if i >= len(d) {
			return i, false
		}
		switch d[i] {
		case '{', '[':
			if len(open) == MaxNesting-1 { // the member's object is one level
				return i, false
			}
			obj := d[i] == '{'
			i = skipSpace(d, i+1)
			if i < len(d) && d[i] == closer(obj) {
				i++
				break
			}
			v := openValue{obj: obj}
			if obj {
				objects++
				v.id, v.start = objects, len(names.names)
			}
			open = append(open, v)
			if obj {
				if i, ok = names.scanName(d, i, v); !ok {
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
			v := open[len(open)-1]
			i = skipSpace(d, i)
			if i >= len(d) {
				return i, false
			}
			if d[i] == closer(v.obj) {
				if v.obj {
					names.names = names.names[:v.start]
				}
				open = open[:len(open)-1]
				i++
				continue
			}
			if d[i] != ',' {
				return i, false
			}
			i = skipSpace(d, i+1)
			if v.obj {
				if i, ok = names.scanName(d, i, v); !ok {
					return i, false
				}
			}
			break
		}
	}
}

// openValue is an array or object scanValue is inside of; an object's
// member names are names.names[start:], and id tells its names apart from
// those of other objects in names.index.
type openValue struct {
	obj       bool
	id, start int
}

// memberNames holds the folded member names of the objects a value has
// open, innermost last, to find duplicates. An object's first names are
// searched linearly; from the seventeenth on, its names are in index too,
// so that a hostile object with many members costs linear time.
type memberNames struct {
	names []string
	index map[objectName]struct{}
	text  arena
}

type objectName struct {
	id   int
	name string
}

// scanName reads `"name" :` and the space after it, up to the member's
// value, and refuses a name the object v already has.
func (n *memberNames) scanName(d string, i int, v openValue) (int, bool) {
	start := i
	i, ok := scanString(d, i)
	if !ok {
		return i, false
	}
	if n.add(v, n.text.fold(n.text.unquote(d[start:i]))) {
		return start, false
	}
	i = skipSpace(d, i)
	if i >= len(d) || d[i] != ':' {
		return i, false
	}
	return skipSpace(d, i+1), true
}

// add records name as a member of v and reports whether v had it already.
func (n *memberNames) add(v openValue, name string) (dup bool) {
	own := n.names[v.start:]
	const linear = 16
	if len(own) < linear {
		for _, m := range own {
			if m == name {
				return true
			}
		}
		n.names = append(n.names, name)
		return false
	}
	if n.index == nil {
		n.index = make(map[objectName]struct{})
	}
	if len(own) == linear {
		for _, m := range own {
			n.index[objectName{v.id, m}] = struct{}{}
		}
	}
	k := objectName{v.id, name}
	if _, ok := n.index[k]; ok {
		return true
	}
	n.index[k] = struct{}{}
	n.names = append(n.names, name)
	return false
}

func closer(obj bool) byte {
	if obj {
		return '}'
	}
	return ']'
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

// unquote returns the content of the well-formed JSON string literal q,
// decoded as encoding/json decodes it (a caller that decodes the same text
// with encoding/json must see the names and values read here). It is
// linear in q and allocates at most once.
func unquote(q string) string {
	var a arena
	return a.unquote(q)
}

// arena holds the strings a scan unescapes or folds, so that a text with
// many of them costs a few allocations, not one per string. Its bytes are
// never written once a string views them: append only writes past the
// end, and a grown arena leaves the old array to the strings that view it.
type arena []byte

// unquote is unquote, into a.
func (a *arena) unquote(q string) string {
	body := q[1 : len(q)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body
	}
	if *a == nil {
		*a = make([]byte, 0, len(body))
	}
	start := len(*a)
	*a = appendUnquoted(*a, body)
	return a.view(start)
}

// fold returns the same string for names equal under simple case
// folding, as bytes.EqualFold and encoding/json compare them. Lower-case
// ASCII names, nearly all claim names, are their own key and cost nothing.
func (a *arena) fold(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			start := len(*a)
			*a = appendFolded(*a, name)
			return a.view(start)
		}
	}
	return name
}

func (a *arena) view(start int) string {
	b := (*a)[start:]
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// appendUnquoted appends the content of the body of a well-formed JSON
// string literal. A lone or mismatched UTF-16 surrogate becomes U+FFFD, as
// encoding/json makes it.
func appendUnquoted(b []byte, body string) []byte {
	for {
		i := strings.IndexByte(body, '\\')
		if i < 0 {
			return append(b, body...)
		}
		b = append(b, body[:i]...)
		c := body[i+1]
		body = body[i+2:]
		switch c {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(body)
			body = body[4:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(body) >= 6 && body[0] == '\\' && body[1] == 'u' {
					r2 = hex4(body[2:])
				}
				if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
					r, body = pair, body[6:]
				} else {
					r = unicode.ReplacementChar
				}
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, c)
		}
	}
}

// appendFolded appends name with each rune replaced by the least rune of
// its simple folding orbit, as encoding/json folds names, except that an
// ASCII letter stands for its orbit in lower case: a lower-case ASCII name
// is its own key.
func appendFolded(b []byte, name string) []byte {
	for _, r := range name {
		if r >= utf8.RuneSelf {
			for {
				f := unicode.SimpleFold(r)
				if f <= r {
					r = f
					break
				}
				r = f
			}
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// hex4 reads the four hex digits that start h, which scanString checked.
func hex4(h string) rune {
	var r rune
	for _, c := range []byte(h[:4]) {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// Fold returns the same string for names equal under simple case folding,
// as bytes.EqualFold and encoding/json compare them; a lower-case ASCII
// name is its own key.
func Fold(name string) string {
	var text arena
	return text.fold(name)
}

// EachElement calls fn, until it returns an error, for each element of
// the well-formed JSON value data when it is an array, and returns that
// error.
func EachElement(data string, fn func(value string) error) error {
	if data == "" || data[0] != '[' {
		return nil
	}
	i := skipSpace(data, 1)
	for i < len(data) && data[i] != ']' {
		end, ok := scanValue(data, i)
		if !ok {
			return nil
		}
		if err := fn(data[i:end]); err != nil {
			return err
		}
		if i = skipSpace(data, end); i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil
}

// String reads a string value.
func String(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return unquote(v), true
}

// Number reads a number value; strings, booleans and null are not
// numbers (RFC 7519 §2, NumericDate).
func Number(v string) (float64, bool) {
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

// EachString calls fn for each element of a well-formed array of
// strings and reports false if v is not one. The strings it unescapes
// share one allocation.
func EachString(v string, fn func(string)) bool {
	if !IsStringArray(v) {
		return false
	}
	var text arena // only when some string has an escape to undo
	if strings.IndexByte(v, '\\') >= 0 {
		text = make(arena, 0, len(v))
	}
	i := skipSpace(v, 1)
	for v[i] != ']' {
		end := skipString(v, i)
		fn(text.unquote(v[i:end]))
		if i = skipSpace(v, end); v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return true
}

// CountStrings returns the number of elements of the well-formed JSON
// value v when it is an array of strings, else -1. It reads no string's
// content, so that checking a value's type costs no unescaping.
func CountStrings(v string) int {
	if len(v) < 2 || v[0] != '[' {
		return -1
	}
	n := 0
	i := skipSpace(v, 1)
	for i < len(v) && v[i] != ']' {
		if v[i] != '"' {
			return -1
		}
		n++
		if i = skipSpace(v, skipString(v, i)); i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return n
}

// IsStringArray reports whether the well-formed JSON value v is an array
// of strings.
func IsStringArray(v string) bool { return CountStrings(v) >= 0 }
