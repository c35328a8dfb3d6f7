package mcpbearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/mcpbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hello answers with the subject of the token, after checking that the
// SDK's TokenInfo and the core's context agree.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer.FromContext(r.Context())
	info := auth.TokenInfoFromContext(r.Context())
	fromInfo, infoOK := mcpbearer.TokenFrom(info)
	if ok != infoOK || ok && tok != fromInfo {
		http.Error(w, "accessors disagree", http.StatusInternalServerError)
		return
	}
	if !ok {
		w.Write([]byte("anonymous"))
		return
	}
	w.Write([]byte(tok.Subject()))
})

// app is the app of answertest.App: each route is a Handler, with the
// scopes and rules of the route inside it, as MCP handlers have them.
func app(m *bearer.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", mcpbearer.Handler(m, hello))
	mux.Handle("/read", mcpbearer.Handler(m, bearer.RequireScopes("read")(hello)))
	mux.Handle("/admin/", mcpbearer.Handler(m, bearer.RequireScopes("admin", "audit")(hello)))
	mux.Handle("/bob", mcpbearer.Handler(m, bearer.Require(bearer.ClaimEquals("sub", "bob"))(hello)))
	return mux
}

func TestAnswers(t *testing.T) { answertest.Run(t, app) }

// server is an MCP server with a public tool, echo, and one that needs
// the admin scope, reset, behind Handler. Each tool answers with the
// subject of the token TokenFrom finds.
type server struct {
	url, resource string
	metadata      string // the metadata document's URL
	issuer        *bearertest.Issuer
	mcp           *mcp.Server
}

func newServer(t *testing.T, opts ...mcpbearer.Option) *server {
	t.Helper()
	return newServerWith(t, nil, opts...)
}

// newServerWith is newServer with more options for the core middleware.
func newServerWith(t *testing.T, core []bearer.Option, opts ...mcpbearer.Option) *server {
	t.Helper()
	s := &server{issuer: bearertest.MustIssuer(bearertest.ES256)}
	var h http.Handler
	s.url = answertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	s.resource = s.url + "/mcp"
	m, err := bearer.New(s.issuer.KeySource(), append([]bearer.Option{
		bearer.WithIssuer(s.issuer.Issuer()),
		bearer.WithAudience(s.resource),
		bearer.WithResourceMetadata(bearer.ResourceMetadata{Resource: s.resource, ScopesSupported: []string{"admin"}}),
	}, core...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
	whoami := func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		tok, ok := mcpbearer.TokenFrom(req.Extra.TokenInfo)
		if !ok {
			return nil, nil, errors.New("no token")
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: tok.Subject()}}}, nil, nil
	}
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "echo"}, whoami)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "reset"}, whoami)
	mux := http.NewServeMux()
	s.metadata = m.ResourceMetadataURL()
	mux.Handle(strings.TrimPrefix(s.metadata, s.url), m.ResourceMetadataHandler())
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, nil)
	mux.Handle("/mcp", mcpbearer.Handler(m, streamable, opts...))
	h = mux
	return s
}

var adminTools = mcpbearer.WithToolScopes(map[string][]string{"reset": {"admin"}})

// token mints a token for sub with scopes, for the server's resource
// unless claims say otherwise.
func (s *server) token(t *testing.T, sub, scopes string, claims ...bearertest.Claims) string {
	t.Helper()
	c := bearertest.Claims{"sub": sub, "scope": scopes, "aud": s.resource}
	for _, more := range claims {
		for k, v := range more {
			c[k] = v
		}
	}
	return s.issuer.MustMint(c)
}

// recorder is an http.RoundTripper that sends a token and keeps the
// answers, as a user looking at the wire would.
type recorder struct {
	token   string
	mu      sync.Mutex
	answers []*http.Response
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	rec.mu.Lock()
	token := rec.token
	rec.mu.Unlock()
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		rec.mu.Lock()
		rec.answers = append(rec.answers, res)
		rec.mu.Unlock()
	}
	return res, err
}

// last returns the last answer with status.
func (rec *recorder) last(t *testing.T, status int) *http.Response {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := len(rec.answers) - 1; i >= 0; i-- {
		if rec.answers[i].StatusCode == status {
			return rec.answers[i]
		}
	}
	t.Fatalf("no %d answer", status)
	return nil
}

// connect connects a go-sdk client with token ("" for none).
func (s *server) connect(t *testing.T, token string) (*mcp.ClientSession, *recorder, error) {
	t.Helper()
	rec := &recorder{token: token}
	client := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "v1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:             s.resource,
		HTTPClient:           &http.Client{Transport: rec},
		MaxRetries:           -1,
		DisableStandaloneSSE: true,
	}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, rec, err
}

func call(t *testing.T, cs *mcp.ClientSession, tool string) (string, error) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool})
	if err != nil {
		return "", err
	}
	if res.IsError {
		return "", errors.New(res.Content[0].(*mcp.TextContent).Text)
	}
	return res.Content[0].(*mcp.TextContent).Text, nil
}

// A real go-sdk client: a token with the scope calls both tools, one
// without it the public one only (403, the scope in the challenge).
func TestClient(t *testing.T) {
	s := newServer(t, adminTools)
	t.Run("allowed", func(t *testing.T) {
		cs, _, err := s.connect(t, s.token(t, "alice", "admin"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"echo", "reset"} {
			if got, err := call(t, cs, tool); err != nil || got != "alice" {
				t.Errorf("%s: %q, %v", tool, got, err)
			}
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		cs, rec, err := s.connect(t, s.token(t, "alice", "profile"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := call(t, cs, "echo"); err != nil || got != "alice" {
			t.Errorf("echo: %q, %v", got, err)
		}
		if _, err := call(t, cs, "reset"); err == nil {
			t.Fatal("reset called without the admin scope")
		}
		res := rec.last(t, http.StatusForbidden)
		if got, want := res.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="`+s.metadata+`", error="insufficient_scope", error_description="insufficient scope", scope="admin"`; got != want {
			t.Errorf("challenge %s\nwant      %s", got, want)
		}
	})
	for name, c := range map[string]struct{ token, challenge string }{
		"wrong audience": {s.token(t, "alice", "admin", bearertest.Claims{"aud": "https://other.example/mcp"}),
			`Bearer resource_metadata="` + s.metadata + `", error="invalid_token", error_description="audience not accepted"`},
		"no token": {"", `Bearer resource_metadata="` + s.metadata + `"`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, rec, err := s.connect(t, c.token); err == nil {
				t.Fatal("connected")
			} else if got := rec.last(t, http.StatusUnauthorized).Header.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("challenge %s\nwant      %s", got, c.challenge)
			}
		})
	}
	t.Run("metadata", func(t *testing.T) {
		if want := s.url + bearer.ResourceMetadataPath + "/mcp"; s.metadata != want {
			t.Errorf("metadata at %s, want %s (RFC 9728 §3.1)", s.metadata, want)
		}
		res, err := http.Get(s.metadata)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var md bearer.ResourceMetadata
		if err := json.NewDecoder(res.Body).Decode(&md); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%d, %v", res.StatusCode, err)
		}
		if md.Resource != s.resource || len(md.AuthorizationServers) != 1 || md.AuthorizationServers[0] != s.issuer.Issuer() {
			t.Errorf("metadata %+v", md)
		}
	})
}

// post sends body to the server's MCP endpoint with token and session.
func (s *server) post(t *testing.T, token, session, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.resource, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// The SDK binds a session to the UserID of the TokenInfo that created it:
// another subject, or the same subject of another issuer, cannot use it.
func TestSessionUser(t *testing.T) {
	s := newServer(t)
	cs, _, err := s.connect(t, s.token(t, "alice", ""))
	if err != nil {
		t.Fatal(err)
	}
	ping := `{"jsonrpc":"2.0","id":7,"method":"ping"}`
	if res := s.post(t, s.token(t, "alice", ""), cs.ID(), ping); res.StatusCode != http.StatusOK {
		t.Errorf("alice in her session: %d", res.StatusCode)
	}
	if res := s.post(t, s.token(t, "bob", ""), cs.ID(), ping); res.StatusCode != http.StatusForbidden {
		t.Errorf("bob in alice's session: %d, want 403", res.StatusCode)
	}
	info := mcpbearer.TokenInfo(mustVerify(t, s, s.token(t, "alice", "a b")))
	if info.UserID != `"`+s.issuer.Issuer()+`" "alice"` || strings.Join(info.Scopes, " ") != "a b" || info.Expiration.IsZero() {
		t.Errorf("TokenInfo %+v", info)
	}
}

func mustVerify(t *testing.T, s *server, raw string) *bearer.Token {
	t.Helper()
	m, err := bearer.New(s.issuer.KeySource(), bearer.WithIssuer(s.issuer.Issuer()), bearer.WithAudience(s.resource))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := m.Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Tool calls are found in a body as the SDK reads it: in a batch, with
// the last of duplicate names, with case-sensitive names. The check
// answers before the SDK sees the request, so no session is needed.
func TestToolCallBodies(t *testing.T) {
	s := newServer(t, adminTools, mcpbearer.WithMaxBodySize(1<<10))
	call := func(params string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":` + params + `}`
	}
	token := s.token(t, "alice", "profile")
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"reset":                 {call(`{"name":"reset"}`), http.StatusForbidden},
		"reset in a batch":      {`[` + call(`{"name":"echo"}`) + `,` + call(`{"name":"reset"}`) + `]`, http.StatusForbidden},
		"duplicate, last reset": {call(`{"name":"echo","name":"reset"}`), http.StatusForbidden},
		"name reset, Name echo": {call(`{"name":"reset","Name":"echo"}`), http.StatusForbidden},
		"reset, trailing data":  {call(`{"name":"reset"}`) + ` garbage`, http.StatusForbidden},
		"too large":             {call(`{"name":"echo","arguments":{"pad":"` + strings.Repeat("x", 1<<10) + `"}}`), http.StatusRequestEntityTooLarge},
		// Not a call of reset for the SDK: it answers, whatever it answers.
		"Name is not name":     {call(`{"name":"echo","Name":"reset"}`), 0},
		"METHOD is not method": {`{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"reset"}}`, 0},
	} {
		if res := s.post(t, token, "", c.body); c.status == 0 && res.StatusCode == http.StatusForbidden || c.status != 0 && res.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", name, res.StatusCode, c.status)
		} else if c.status == http.StatusForbidden && !strings.Contains(res.Header.Get("WWW-Authenticate"), `scope="admin"`) {
			t.Errorf("%s: challenge %s", name, res.Header.Get("WWW-Authenticate"))
		}
	}
}

// ToolMiddleware refuses, inside the server, a call Handler let through
// (here: a Handler without the tool scopes), with the fixed description.
func TestToolMiddleware(t *testing.T) {
	s := newServer(t)
	s.mcp.AddReceivingMiddleware(mcpbearer.ToolMiddleware(adminTools))
	cs, _, err := s.connect(t, s.token(t, "alice", "profile"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, cs, "echo"); err != nil || got != "alice" {
		t.Errorf("echo: %q, %v", got, err)
	}
	if _, err := call(t, cs, "reset"); err == nil || !strings.Contains(err.Error(), "tool call refused: insufficient scope") {
		t.Errorf("reset without the scope: %v", err)
	}
	admin, _, err := s.connect(t, s.token(t, "bob", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, admin, "reset"); err != nil || got != "bob" {
		t.Errorf("reset with the scope: %q, %v", got, err)
	}
}

// Under CredentialsOptional, a client without a token calls public
// tools; a tool with rules answers 401 with the challenge.
func TestCredentialsOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithMode(bearer.CredentialsOptional))
	srv := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	url := answertest.Serve(t, mcpbearer.Handler(f.Middleware, streamable, adminTools))
	s := &server{resource: url}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"reset"}}`
	if res := s.post(t, "", "", body); res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("reset without a token: %d %s", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res := s.post(t, "", "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`); res.StatusCode != http.StatusOK {
		t.Errorf("ping without a token: %d", res.StatusCode)
	}
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"Handler(nil)":      func() { mcpbearer.Handler(nil, hello) },
		"WithToolScopes":    func() { mcpbearer.WithToolScopes(map[string][]string{"t": {`"quoted"`}}) },
		"empty tool name":   func() { mcpbearer.WithToolScopes(map[string][]string{"": {"a"}}) },
		"WithMaxBodySize 0": func() { mcpbearer.WithMaxBodySize(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

var noContent = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// What Handler allocates beyond the net/http middleware: the SDK's
// TokenInfo (the struct, its scopes, its UserID, its Extra map) and the
// requests and context values auth.RequireBearerToken, the SDK's only way
// to set it, needs.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware),
		answertest.Pair{With: mcpbearer.Handler(f.Middleware, noContent), Without: noContent}, 9)
}

func BenchmarkHandler(b *testing.B) {
	f := answertest.New(b)
	auth := "Bearer " + f.Token(b, "read")
	answertest.Benchmark(b, auth, answertest.Middleware(f.Middleware),
		answertest.Pair{With: mcpbearer.Handler(f.Middleware, noContent), Without: noContent})
}

// A tool handler's context holds the token of the request that created the
// session (the SDK's doing); TokenFrom gives the current request's.
func TestTokenFrom(t *testing.T) {
	s := newServer(t)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "scopes"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		current, _ := mcpbearer.TokenFrom(req.Extra.TokenInfo)
		inContext, _ := bearer.FromContext(ctx)
		text := strings.Join(current.Scopes(), " ") + ", context: " + strings.Join(inContext.Scopes(), " ")
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
	})
	cs, rec, err := s.connect(t, s.token(t, "alice", "first"))
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.token = s.token(t, "alice", "second")
	rec.mu.Unlock()
	if got, err := call(t, cs, "scopes"); err != nil || got != "second, context: first" {
		t.Errorf("got %q, %v", got, err)
	}
}

// A token the SDK would not find in the Authorization header (here, from a
// cookie) still fills TokenInfo, and the handler gets the request's own
// header.
func TestTokenOutsideAuthorization(t *testing.T) {
	f := answertest.New(t, bearer.WithExtractor(bearer.FromCookie("at")))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") == "" {
			http.Error(w, "header changed", http.StatusInternalServerError)
			return
		}
		hello(w, r)
	})
	url := answertest.Serve(t, mcpbearer.Handler(f.Middleware, h))
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.AddCookie(&http.Cookie{Name: "at", Value: f.Token(t, "")})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != "alice" {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}

// The core decides on exp, with its leeway and WithExpiryOptional; the
// SDK, which also looks at the expiry of the TokenInfo it is given, must
// not refuse a token the core accepted.
func TestExpiryIsTheCoresToJudge(t *testing.T) {
	for name, c := range map[string]struct {
		core  []bearer.Option
		claim any
	}{
		"no exp, WithExpiryOptional":        {[]bearer.Option{bearer.WithExpiryOptional()}, nil},
		"expired 10 s ago, within a minute": {[]bearer.Option{bearer.WithLeeway(time.Minute)}, time.Now().Add(-10 * time.Second).Unix()},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServerWith(t, c.core)
			tok := s.token(t, "alice", "", bearertest.Claims{"exp": c.claim})
			cs, _, err := s.connect(t, tok)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer cs.Close()
			if got, err := call(t, cs, "echo"); err != nil || got != "alice" {
				t.Fatalf("echo: %q, %v", got, err)
			}
		})
	}
}
