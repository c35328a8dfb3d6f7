package conformance_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
)

var b64 = base64.RawURLEncoding

// The RFC examples, joined from the lines of the RFCs.
const (
	// RFC 7515 A.1: HS256.
	rfc7515A1Key   = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	rfc7515A1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	// RFC 7515 A.2: RS256.
	rfc7515A2N     = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	rfc7515A2Token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
	// RFC 7515 A.3: ES256 (its S is "high": JWS does not forbid that).
	rfc7515A3X     = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfc7515A3Y     = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
	rfc7515A3Token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	// RFC 8037 A.1 public key and A.4 JWS (payload "Example of Ed25519 signing").
	rfc8037X       = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037A4Token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

	// RFC 7520 §3: Figure 1 (EC P-521 public), Figure 3 (RSA public),
	// Figure 5 (HMAC) keys.
	rfc7520Keys = `{"keys":[
		{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",
		 "x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
		 "y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"},
		{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig","e":"AQAB",
		 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw"},
		{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}`
	// RFC 7520 Figure 8: the payload of every §4 example.
	rfc7520Payload = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	// RFC 7520 §4.1.3 Figure 13 (RS256), §4.2.3 Figure 20 (PS384), §4.3.3
	// Figure 27 (ES512), §4.4.3 Figure 35 (HS256).
	rfc7520Fig13 = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
	rfc7520Fig20 = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"
	rfc7520Fig27 = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"
	rfc7520Fig35 = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." + rfc7520Payload + ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
	// RFC 7520 §4.5.3: Figure 35 with the payload detached.
	rfc7520Detached = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9..s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
	// RFC 7520 §4.6 (Figures 45, 48), §4.7 (Figure 53), §4.8 (Figures 57,
	// 60, 64, 67, 69): JSON-only examples.
	rfc7520Fig48 = "bWUSVaxorn7bEF1djytBd0kHv70Ly5pvbomzMWSOr20"
	rfc7520Fig53 = "xuLifqLGiblpv9zBpuZczWhNj1gARaLV3UxvxhJxZuk"
	rfc7520Fig60 = "MIsjqtVlOpa71KE-Mss8_Nq2YH4FGhiocsqrgi5NvyG53uoimic1tcMdSg-qptrzZc7CG6Svw2Y13TDIqHzTUrL_lR2ZFcryNFiHkSw129EghGpwkpxaTn_THJTCglNbADko1MZBCdwzJxwqZc-1RlpO2HibUYyXSwO97BSe0_evZKdjvvKSgsIqjytKSeAMbhMBdMma622_BG5t4sdbuCHtFjp9iJmkio47AIwqkZV1aIZsv33uPUqBBCXbYoQJwt7mxPftHmNlGoOSMxR_3thmXTCm4US-xiNOyhbm8afKK64jU6_TPtQHiJeQJxz9G3Tx-083B745_AfYOnlC9w"
	rfc7520Fig64 = "ARcVLnaJJaUWG8fG-8t5BREVAuTY8n8YHjwDO1muhcdCoFZFFjfISu0Cdkn9Ybdlmi54ho0x924DUz8sK7ZXkhc7AFM8ObLfTvNCrqcI3Jkl2U5IX3utNhODH6v7xgy1Qahsn0fyb4zSAkje8bAWz4vIfj5pCMYxxm4fgV3q7ZYhm5eD"
)

// rfc7515Exp is the exp of RFC 7515 A.1-A.3, long past: their examples
// verify with a clock set before it.
var rfc7515Exp = time.Unix(1300819380, 0)

// TestRFCExamples runs the RFC examples through the public API. The
// RFC 7515 tokens are JWTs: they verify with a clock an hour before their
// exp and are refused as expired at today's date. The other payloads are
// no claims sets: they must be valid at the JWS layer, and a flipped
// signature bit must turn them into "signature invalid", which proves the
// signature was checked.
func TestRFCExamples(t *testing.T) {
	rfc7520, err := bearer.KeySetJSON([]byte(rfc7520Keys))
	if err != nil {
		t.Fatal(err)
	}
	before := bearer.WithClock(func() time.Time { return rfc7515Exp.Add(-time.Hour) })
	toJSON := func(v any) string { return mustMarshal(t, v) }
	examples := []struct {
		name  string
		keys  bearer.KeySource
		opts  []bearer.Option
		token string
		want  string // accepted, jws-valid or "refused: <description>"
	}{
		{"RFC 7515 A.1 HS256", bearer.Secret(mustB64(t, rfc7515A1Key)), []bearer.Option{before}, rfc7515A1Token, accepted},
		{"RFC 7515 A.1 HS256 today", bearer.Secret(mustB64(t, rfc7515A1Key)), nil, rfc7515A1Token, "refused: token expired"},
		{"RFC 7515 A.2 RS256", bearer.PublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, rfc7515A2N)), E: 65537}), []bearer.Option{before}, rfc7515A2Token, accepted},
		{"RFC 7515 A.2 RS256 today", bearer.PublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(mustB64(t, rfc7515A2N)), E: 65537}), nil, rfc7515A2Token, "refused: token expired"},
		{"RFC 7515 A.3 ES256", bearer.PublicKey(p256(t, rfc7515A3X, rfc7515A3Y)), []bearer.Option{before}, rfc7515A3Token, accepted},
		{"RFC 7515 A.3 ES256 today", bearer.PublicKey(p256(t, rfc7515A3X, rfc7515A3Y)), nil, rfc7515A3Token, "refused: token expired"},
		{"RFC 8037 A.4 EdDSA", bearer.PublicKey(ed25519.PublicKey(mustB64(t, rfc8037X))), nil, rfc8037A4Token, jwsValid},
		{"RFC 7520 4.1 RS256", rfc7520, nil, rfc7520Fig13, jwsValid},
		{"RFC 7520 4.2 PS384", rfc7520, nil, rfc7520Fig20, jwsValid},
		{"RFC 7520 4.3 ES512", rfc7520, nil, rfc7520Fig27, jwsValid},
		{"RFC 7520 4.4 HS256", rfc7520, nil, rfc7520Fig35, jwsValid},
		// Detached content (RFC 7515 Appendix F) has no place in a bearer
		// token: without the payload the signature cannot hold.
		{"RFC 7520 4.5 detached", rfc7520, nil, rfc7520Detached, "refused: signature invalid"},
		// JWTs use the compact serialization only (RFC 7519 §1, §7.2).
		{"RFC 7520 4.4 flattened JSON", rfc7520, nil, toJSON(map[string]string{"payload": rfc7520Payload, "protected": strings.Split(rfc7520Fig35, ".")[0], "signature": strings.Split(rfc7520Fig35, ".")[2]}), "refused: malformed token"},
		{"RFC 7520 4.6 general JSON", rfc7520, nil, toJSON(map[string]any{"payload": rfc7520Payload, "signatures": []any{map[string]any{"protected": "eyJhbGciOiJIUzI1NiJ9", "header": map[string]string{"kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037"}, "signature": rfc7520Fig48}}}), "refused: malformed token"},
		{"RFC 7520 4.6 flattened JSON", rfc7520, nil, toJSON(map[string]any{"payload": rfc7520Payload, "protected": "eyJhbGciOiJIUzI1NiJ9", "header": map[string]string{"kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037"}, "signature": rfc7520Fig48}), "refused: malformed token"},
		{"RFC 7520 4.7 flattened JSON", rfc7520, nil, toJSON(map[string]any{"payload": rfc7520Payload, "header": map[string]string{"alg": "HS256", "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037"}, "signature": rfc7520Fig53}), "refused: malformed token"},
		{"RFC 7520 4.8 general JSON", rfc7520, nil, toJSON(map[string]any{"payload": rfc7520Payload, "signatures": []any{
			map[string]any{"protected": "eyJhbGciOiJSUzI1NiJ9", "header": map[string]string{"kid": "bilbo.baggins@hobbiton.example"}, "signature": rfc7520Fig60},
			map[string]any{"header": map[string]string{"alg": "ES512", "kid": "bilbo.baggins@hobbiton.example"}, "signature": rfc7520Fig64},
			map[string]any{"protected": strings.Split(rfc7520Fig35, ".")[0], "signature": strings.Split(rfc7520Fig35, ".")[2]}}}), "refused: malformed token"},
		// The JSON-only signatures verify once in compact form, where only
		// their protected header counts: the unprotected kid is dropped.
		{"RFC 7520 4.6 in compact form", rfc7520, nil, "eyJhbGciOiJIUzI1NiJ9." + rfc7520Payload + "." + rfc7520Fig48, jwsValid},
		{"RFC 7520 4.8 signature 1 in compact form", rfc7520, nil, "eyJhbGciOiJSUzI1NiJ9." + rfc7520Payload + "." + rfc7520Fig60, jwsValid},
		// §4.7 protects no header, and a compact JWS cannot lack one.
		{"RFC 7520 4.7 in compact form", rfc7520, nil, "." + rfc7520Payload + "." + rfc7520Fig53, "refused: malformed token"},
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			m, err := bearer.New(ex.keys, append([]bearer.Option{bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck()}, ex.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tok, err := m.Verify(context.Background(), ex.token)
			if got := judge(t, err); got != ex.want {
				t.Fatalf("%s, want %s", got, ex.want)
			}
			switch ex.want {
			case accepted:
				root, _ := tok.Claim("http://example.com/is_root")
				if tok.Issuer() != "joe" || !tok.Expiry().Equal(rfc7515Exp) || root != true {
					t.Errorf("claims: iss %q, exp %v, is_root %v", tok.Issuer(), tok.Expiry(), root)
				}
				fallthrough
			case jwsValid:
				_, err := m.Verify(context.Background(), flipSignatureBit(t, ex.token))
				if got := judge(t, err); got != "refused: signature invalid" {
					t.Errorf("with a flipped signature bit: %s, want refused: signature invalid", got)
				}
			}
		})
	}
}

func flipSignatureBit(t *testing.T, tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig := mustB64(t, tok[i+1:])
	sig[len(sig)/2] ^= 0x10
	return tok[:i+1] + b64.EncodeToString(sig)
}

func p256(t *testing.T, x, y string) *ecdsa.PublicKey {
	point := append(append([]byte{4}, mustB64(t, x)...), mustB64(t, y)...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func mustB64(t *testing.T, s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
