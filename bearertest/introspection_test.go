package bearertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bearerauth/bearer/bearertest"
)

// The introspection endpoint answers for MintOpaque's tokens, inactive for
// any other or a deactivated one, 401 to a client that does not
// authenticate as required, and counts its requests.
func TestIntrospectionEndpoint(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	ask := func(token string, auth func(*http.Request, url.Values)) (int, map[string]any) {
		t.Helper()
		form := url.Values{"token": {token}}
		req, _ := http.NewRequest(http.MethodPost, srv.IntrospectionURL, nil)
		if auth != nil {
			auth(req, form)
		}
		req.Body = io.NopCloser(strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		json.NewDecoder(resp.Body).Decode(&answer)
		return resp.StatusCode, answer
	}
	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice", "scope": "a b"})
	if strings.Count(tok, ".") != 0 {
		t.Errorf("opaque token %q looks like a JWS", tok)
	}
	status, answer := ask(tok, nil)
	if status != 200 || answer["active"] != true || answer["sub"] != "alice" || answer["iss"] != srv.URL || answer["exp"] == nil {
		t.Errorf("active token: %d %v", status, answer)
	}
	srv.Deactivate(tok)
	if _, answer := ask(tok, nil); answer["active"] != false || len(answer) != 1 {
		t.Errorf("deactivated token: %v", answer)
	}
	srv.RequireClientSecret("api", "s3cret")
	if status, _ := ask(srv.MintOpaque(nil), nil); status != 401 || srv.ClientAuthentication() != "" {
		t.Errorf("no client authentication: %d", status)
	}
	post := func(_ *http.Request, f url.Values) { f.Set("client_id", "api"); f.Set("client_secret", "s3cret") }
	if status, answer := ask(srv.MintOpaque(nil), post); status != 200 || answer["active"] != true || srv.ClientAuthentication() != "client_secret_post" {
		t.Errorf("client_secret_post: %d %v", status, answer)
	}
	srv.Introspection.Fail(http.StatusServiceUnavailable)
	if status, _ := ask(tok, post); status != 503 {
		t.Errorf("Fail: %d", status)
	}
	if n := srv.Introspection.Requests(); n != 5 {
		t.Errorf("%d requests counted, want 5", n)
	}
	var doc map[string]any
	resp, _ := srv.Client().Get(srv.URL + bearertest.DiscoveryPath)
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["introspection_endpoint"] != srv.IntrospectionURL {
		t.Errorf("discovery document: %v", doc)
	}
}
