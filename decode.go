package bearer

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// Decode and ClaimsFrom hand the claims set to encoding/json, which
// matches member names to struct fields case-insensitively, with Unicode
// folding: a lone "Sub" or "ſub" member fills a `json:"sub"` field while
// Subject() is empty. The verifier reads names exactly (RFC 7519 §10.1.1),
// so before decoding, the claims are walked beside the target type and a
// member that would fill a field whose name it does not spell exactly is
// refused. Duplicates, folded or not, were refused at every depth when
// the token was read; with both, every field gets the member of its exact
// name or nothing.

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// exactNames checks that the JSON text data decodes into a value of type
// typ with exact member names only.
type exactNames struct {
	fields *sync.Map // reflect.Type → fieldNames: the struct types met so far
}

// fieldNames are the JSON names of a struct type's fields, including
// those promoted from embedded structs, by folded name. It may hold more
// names than encoding/json would use (both of two conflicting embedded
// fields), never fewer: a member is decoded into a field only if it
// spells the one name of its folding class.
type fieldNames map[string][]field

type field struct {
	name string
	typ  reflect.Type
}

func (c *exactNames) check(data string, typ reflect.Type) error {
	for typ != nil && typ.Kind() == reflect.Pointer {
		if decodesItself(typ) {
			return nil
		}
		typ = typ.Elem()
	}
	if typ == nil || decodesItself(typ) || decodesItself(reflect.PointerTo(typ)) {
		return nil // nothing to decode into, or the type's own business
	}
	switch typ.Kind() {
	case reflect.Struct:
		return c.object(data, func(name, value string) error {
			fs, err := c.fieldsOf(typ).match(name)
			for _, f := range fs {
				if err == nil {
					err = c.check(value, f.typ)
				}
			}
			return err
		})
	case reflect.Map:
		return c.object(data, func(_, value string) error { return c.check(value, typ.Elem()) })
	case reflect.Slice, reflect.Array:
		return strictjson.EachElement(data, func(value string) error { return c.check(value, typ.Elem()) })
	}
	return nil // scalars and interfaces: encoding/json decodes an object into a map, whose keys are exact
}

// decodesItself reports whether encoding/json hands the value to the
// type's own method, which this check cannot see into.
func decodesItself(t reflect.Type) bool {
	return t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler)
}

// object calls fn for each member of data when it is an object.
func (c *exactNames) object(data string, fn func(name, value string) error) error {
	var s strictjson.Scanner
	if !s.Reset(data) {
		return nil // not an object: encoding/json reports the type mismatch
	}
	for {
		name, value, _, ok := s.Next()
		if !ok {
			return nil
		}
		if err := fn(name, value); err != nil {
			return err
		}
	}
}

// match returns the fields the member called name decodes into, or an
// error when it would fill a field whose name it does not spell exactly.
func (fs fieldNames) match(name string) ([]field, error) {
	class := fs[strictjson.Fold(name)]
	if len(class) == 0 {
		return nil, nil // no field: encoding/json ignores the member
	}
	for _, f := range class {
		if f.name != name {
			return nil, fmt.Errorf("bearer: claim %q would decode into the field named %q: names must match exactly", name, f.name)
		}
	}
	return class, nil
}

func (c *exactNames) fieldsOf(t reflect.Type) fieldNames {
	if c.fields == nil {
		c.fields = new(sync.Map)
	}
	if fs, ok := c.fields.Load(t); ok {
		return fs.(fieldNames)
	}
	fs := make(fieldNames)
	collectFields(fs, t, map[reflect.Type]bool{})
	c.fields.Store(t, fs) // fs is never changed once stored
	return fs
}

// collectFields adds the JSON names of t's fields to fs as encoding/json
// names them, and those of embedded structs without a name of their own.
func collectFields(fs fieldNames, t reflect.Type, visited map[reflect.Type]bool) {
	if visited[t] {
		return
	}
	visited[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if !isValidTag(name) {
			name = ""
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(fs, ft, visited)
				continue
			}
		}
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := strictjson.Fold(name)
		fs[key] = append(fs[key], field{name: name, typ: f.Type})
	}
}

// isValidTag is encoding/json's rule for a name in a struct tag: a tag
// name it does not accept leaves the field its Go name.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
