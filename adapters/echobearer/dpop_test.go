package echobearer_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/labstack/echo/v4"
)

// DPoP proofs sign the request's method and URL: Echo hands them to the
// core unchanged, so proofs made for the request pass and others fail.
func TestDPoP(t *testing.T) {
	f := answertest.New(t, bearer.WithDPoP(bearer.DPoP{}))
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.PUT("/orders/:id", reasonOf)
	url := answertest.Serve(t, e)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	tok := f.Issuer.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	send := func(method, path, proof string) (int, string) {
		req, _ := http.NewRequest(method, url+path, nil)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, strings.Join(res.Header.Values("WWW-Authenticate"), " | ")
	}
	proof := key.MustProof("PUT", url+"/orders/7?x=1", tok)
	if code, c := send("PUT", "/orders/7?x=1", proof); code != 200 {
		t.Fatalf("proof for the request: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/7", proof); code != 401 || !strings.Contains(c, `DPoP realm="api", algs="`) || !strings.Contains(c, `error_description="DPoP proof replayed"`) {
		t.Errorf("replayed proof: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/8", key.MustProof("PUT", url+"/orders/7", tok)); code != 401 || !strings.Contains(c, "URL mismatch") {
		t.Errorf("proof for another URL: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/7", key.MustProof("GET", url+"/orders/7", tok)); code != 401 || !strings.Contains(c, "method mismatch") {
		t.Errorf("proof for another method: %d %s", code, c)
	}
	// A bound token sent as Bearer: refused, challenge on the Bearer scheme.
	req, _ := http.NewRequest("PUT", url+"/orders/7", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Header.Values("WWW-Authenticate"); res.StatusCode != 401 || len(c) != 2 ||
		c[0] != `Bearer realm="api", error="invalid_token", error_description="token requires proof of possession"` {
		t.Errorf("bound token as Bearer: %d %q", res.StatusCode, c)
	}
}
