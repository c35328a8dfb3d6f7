package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFlow runs the demo's flow over real HTTP: log in, call the
// protected endpoints, be refused where the scope is missing.
func TestFlow(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	a, err := newApp("http://" + srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv.Config.Handler = a.routes()
	srv.Start()
	defer srv.Close()

	login := func(user, pass string) (int, string) {
		res, err := http.Post(srv.URL+"/login", "application/json", strings.NewReader(`{"username":"`+user+`","password":"`+pass+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		json.NewDecoder(res.Body).Decode(&body)
		if res.StatusCode == 200 && body.TokenType != "Bearer" {
			t.Errorf("token_type %q", body.TokenType)
		}
		return res.StatusCode, body.AccessToken
	}
	do := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		owner, _ := body["owner"].(string)
		if s, ok := body["subject"].(string); ok {
			owner = s
		}
		return res.StatusCode, owner
	}

	if code, _ := login("alice", "wrong"); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	_, alice := login("alice", "wonderland")
	_, bob := login("bob", "builder")
	cases := []struct {
		method, path, token string
		status              int
		owner               string
	}{
		{"GET", "/public", "", 200, ""},
		{"GET", "/me", "", 401, ""},
		{"GET", "/me", alice, 200, "alice"},
		{"GET", "/notes", bob, 200, "bob"},
		{"POST", "/notes", alice, 201, "alice"},
		{"POST", "/notes", bob, 403, ""},
		{"GET", "/me", alice + "x", 401, ""},
	}
	for _, c := range cases {
		if code, owner := do(c.method, c.path, c.token); code != c.status || owner != c.owner {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, code, owner, c.status, c.owner)
		}
	}
}
