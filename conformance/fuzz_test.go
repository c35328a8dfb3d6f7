package conformance_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/c2sp/wycheproof"
)

// FuzzWycheproof mutates the Wycheproof JWS vectors and verifies them with
// the keys of every group. Only an input that is one of the vectors valid
// at the JWS layer may pass the JWS layer: any other would be a forgery, as
// a strict compact JWS has a single spelling per header, payload and
// signature. Run it longer with:
//
//	go test -run '^$' -fuzz '^FuzzWycheproof$' -fuzztime 10m .
func FuzzWycheproof(f *testing.F) {
	data, err := fs.ReadFile(wycheproof.TestVectors, "json_web_signature_test.json")
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		f.Fatal(err)
	}
	var verifiers []*bearer.Middleware
	for _, g := range vf.TestGroups {
		for _, tc := range g.Tests {
			f.Add(tc.JWS)
		}
		src, err := bearer.KeySetJSON(g.keySet())
		if err != nil {
			f.Fatal(err)
		}
		if m, err := bearer.New(src, bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck(), bearer.WithExpiryOptional()); err == nil {
			f.Cleanup(func() { m.Close() })
			verifiers = append(verifiers, m)
		}
	}
	// The genuine JWS: what passes the JWS layer before any mutation.
	genuine := map[string]bool{}
	for _, g := range vf.TestGroups {
		for _, tc := range g.Tests {
			for _, m := range verifiers {
				if _, err := m.Verify(context.Background(), tc.JWS); err == nil || judgeQuiet(err) == jwsValid {
					genuine[tc.JWS] = true
				}
			}
		}
	}
	if len(genuine) == 0 {
		f.Fatal("no vector passes the JWS layer: the property below would be empty")
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, m := range verifiers {
			_, err := m.Verify(context.Background(), raw)
			if got := judge(t, err); (got == jwsValid || got == accepted) && !genuine[raw] {
				t.Fatalf("a mutated JWS passed the JWS layer: %q", raw)
			}
		}
	})
}
