package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// scanAll walks every member of data as the verifier does and reports
// whether the scanner took it for one well-formed object.
func scanAll(data string) (members [][2]string, valid bool) {
	var s Scanner
	if !s.Reset(data) {
		return nil, false
	}
	for {
		name, value, _, ok := s.Next()
		if !ok {
			return members, s.Valid()
		}
		members = append(members, [2]string{name, value})
	}
}

// isObject is what the scanner must accept: json.Valid's verdict on an
// object, for UTF-8 text (the scanner refuses the bad UTF-8 json.Valid lets
// through).
func isObject(data string) bool {
	trimmed := strings.TrimLeft(data, " \t\r\n")
	return json.Valid([]byte(data)) && strings.HasPrefix(trimmed, "{") && utf8.ValidString(data)
}

var scannerCorpus = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`,
	`{"exp":1.5e9,"nbf":-0.5,"iat":0,"x":1E+2,"y":2e-3}`,
	`{"s":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}`, `{"ü":"ñ","emoji":"😀"}`,
	`{"a":[],"b":{},"c":[[]],"d":[{}],"e":true,"f":false,"g":null}`,
	"{\"a\"\t:\r\n1 }",
	// malformed, each a way the grammar can break
	``, ` `, `{`, `}`, `[]`, `"a"`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`,
	`{"a":1}x`, `{"a":1}{}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":True}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"\xc3\":1}", `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`,
	`{"a":{"b"}}`, `{"a":{"b":1,}}`, `{"a":{1:2}}`, `{"a":[}`, `{"a":{]}`, `{"a":[1}`, `{"a":"b}`,
	`{a:1}`, `{'a':1}`, "\ufeff{}", `{"a":1}` + "\x00",
	`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 99) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, 70) + `1` + strings.Repeat("}", 70) + `}`,
}

func TestObjectScannerGrammar(t *testing.T) {
	for _, data := range scannerCorpus {
		if _, got := scanAll(data); got != isObject(data) {
			t.Errorf("%q: scanner says valid=%v, encoding/json %v", data, got, !got)
		}
	}
}

// nestedDuplicate reports whether an object below the top level of the
// well-formed object data repeats a member name, exactly or under the case
// folding of bytes.EqualFold (which encoding/json matches fields with).
func nestedDuplicate(data string) bool {
	dec := json.NewDecoder(strings.NewReader(data))
	type level struct {
		obj   bool
		names []string
		name  bool // the next token in this object is a name
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].obj && stack[top].name {
			if name, ok := tok.(string); ok {
				for _, n := range stack[top].names {
					if top > 0 && bytes.EqualFold([]byte(n), []byte(name)) {
						return true
					}
				}
				stack[top].names = append(stack[top].names, name)
				stack[top].name = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{obj: true, name: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		if top = len(stack) - 1; top >= 0 && stack[top].obj {
			stack[top].name = true // a value ended: a name comes next
		}
	}
}

// TestObjectScannerNestedDuplicates: a repeated name in a nested object,
// exactly, escaped or under case folding, makes the text malformed; at the
// top level the scanner reports it to the caller instead.
func TestObjectScannerNestedDuplicates(t *testing.T) {
	for data, dup := range map[string]bool{
		`{"a":{"b":1,"b":2}}`:                   true,
		`{"a":{"b":1,"\u0062":2}}`:              true,
		`{"a":{"sub":1,"SUB":2}}`:               true,
		`{"a":{"sub":1,"\u017fub":2}}`:          true,
		`{"a":{"k":1,"\u212a":2}}`:              true,
		`{"a":[{"x":1},{"x":2,"X":3}]}`:         true,
		`{"a":{"b":{"c":1},"c":{"c":1,"c":2}}}`: true,
		`{"a":{"\ud800":1,"\udc00":2}}`:         true, // both U+FFFD once decoded
		`{"a":{"b":1},"c":{"b":1}}`:             false,
		`{"a":[{"x":1},{"x":2}]}`:               false,
		`{"a":{"b":{"b":{"b":1}}}}`:             false,
		`{"a":{"\ud83d\ude00":1,"\ud83d":2}}`:   false,
		`{"a":1,"a":2}`:                         false, // the top level is the caller's
	} {
		if nestedDuplicate(data) != dup {
			t.Fatalf("%s: the reference says %v", data, !dup)
		}
		if _, valid := scanAll(data); valid == dup {
			t.Errorf("%s: valid=%v, want %v", data, valid, !dup)
		}
	}
	// Many members: the linear search gives way to the index.
	var b strings.Builder
	b.WriteString(`{"a":{`)
	for i := range 40 {
		fmt.Fprintf(&b, `"m%d":1,`, i)
	}
	many := b.String()
	for name, dup := range map[string]bool{`"m3":2}}`: true, `"M39":2}}`: true, `"m40":2}}`: false} {
		if _, valid := scanAll(many + name); valid == dup {
			t.Errorf("40 members then %s: valid=%v", name, valid)
		}
	}
}

// TestUnquote holds the package's unescaping to encoding/json's, lone and
// mismatched surrogates included.
func TestUnquote(t *testing.T) {
	for _, q := range []string{
		`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20AC"`, `"\uD83D\uDE00"`, `"\ud83d\ude00x"`,
		`"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\u0041"`, `"\ud800x"`, `"\ud800\n"`, `"\udbff\udfff"`,
		`"a\u0000b"`, `"ü\u00fc"`, `"x\\u0041"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(q), &want); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := unquote(q); got != want {
			t.Errorf("unquote(%s) = %q, encoding/json %q", q, got, want)
		}
	}
}

func TestObjectScannerMembers(t *testing.T) {
	members, ok := scanAll(` {"iss" : "x", "aud":["a","b"],"n":{"k":[1,{"z":null}]} , "\u0065":"\u0041\"" }`)
	want := [][2]string{{"iss", `"x"`}, {"aud", `["a","b"]`}, {"n", `{"k":[1,{"z":null}]}`}, {"e", `"\u0041\""`}}
	if !ok || !slices.Equal(members, want) {
		t.Fatalf("members %q (valid %v), want %q", members, ok, want)
	}
}

func TestObjectScannerNestingLimit(t *testing.T) {
	deep := func(n int) string { return `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	// The object is one level, its arrays the others.
	for _, arrays := range []int{MaxNesting - 1, MaxNesting} {
		data := deep(arrays)
		if _, ok := scanAll(data); ok != isObject(data) || ok != (arrays < MaxNesting) {
			t.Errorf("object holding %d nested arrays: valid=%v, encoding/json %v", arrays, ok, isObject(data))
		}
	}
}

func TestJSONNumber(t *testing.T) {
	for v, want := range map[string]float64{
		"0": 0, "1764362400": 1764362400, "999999999999999": 999999999999999,
		"1234567890123456789": 1234567890123456789, "-5": -5, "1.5": 1.5, "1e3": 1000,
	} {
		if got, ok := Number(v); !ok || got != want {
			t.Errorf("Number(%s) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{`"1"`, "true", "null", ""} {
		if _, ok := Number(v); ok {
			t.Errorf("Number(%s) accepted", v)
		}
	}
}

// FuzzObjectScanner holds the scanner to encoding/json's grammar on any
// input, and checks that the members it reports are the ones encoding/json
// decodes.
func FuzzObjectScanner(f *testing.F) {
	for _, data := range scannerCorpus {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data string) {
		members, valid := scanAll(data)
		if valid != (isObject(data) && !nestedDuplicate(data)) {
			t.Fatalf("%q: scanner says valid=%v", data, valid)
		}
		if !valid {
			return
		}
		var decoded map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &decoded); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		last := make(map[string]string) // encoding/json keeps the last of duplicates
		for _, m := range members {
			last[m[0]] = m[1]
		}
		if len(last) != len(decoded) {
			t.Fatalf("%q: %d members, encoding/json %d", data, len(last), len(decoded))
		}
		for name, value := range last {
			if got, ok := decoded[name]; !ok || string(got) != value {
				t.Fatalf("%q: member %q = %s, encoding/json %s", data, name, value, got)
			}
			var want string
			if got, ok := String(value); ok && (json.Unmarshal([]byte(value), &want) != nil || got != want) {
				t.Fatalf("%q: member %q reads as %q, encoding/json %q", data, name, got, want)
			}
		}
	})
}
