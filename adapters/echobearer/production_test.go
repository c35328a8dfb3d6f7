package echobearer_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"github.com/labstack/echo/v4"
)

// reasonOf answers with the subject, or with why the request is anonymous.
func reasonOf(c echo.Context) error {
	if tok, ok := echobearer.FromContext(c); ok {
		return c.String(http.StatusOK, "token "+tok.Subject())
	}
	if e, ok := bearer.ErrorFrom(c.Request().Context()); ok {
		return c.String(http.StatusOK, "anonymous: "+e.Description)
	}
	return c.String(http.StatusOK, "untouched")
}

// The modes of issue 7 behave through Echo as through net/http.
func TestModes(t *testing.T) {
	for _, c := range []struct {
		mode              bearer.Mode
		none, bad         answertest.Answer
		noneBody, badBody string
	}{
		{mode: bearer.Required},
		{mode: bearer.CredentialsOptional, noneBody: "anonymous: bearer token required"},
		{mode: bearer.AllowFailed, noneBody: "anonymous: bearer token required", badBody: "anonymous: malformed token"},
	} {
		f := answertest.New(t, bearer.WithMode(c.mode))
		e := echo.New()
		e.Use(echobearer.Middleware(f.Middleware))
		e.GET("/", reasonOf)
		url := answertest.Serve(t, e)

		answertest.Expect(t, "valid token", answertest.Get(t, url+"/", "Bearer "+f.Token(t, "")), answertest.Answer{Status: 200, Body: "token alice"})
		if c.noneBody != "" {
			answertest.Expect(t, "no token", answertest.Get(t, url+"/"), answertest.Answer{Status: 200, Body: c.noneBody})
		} else {
			f.Case(t, "no header").Check(t, answertest.Get(t, url+"/"))
		}
		if c.badBody != "" {
			answertest.Expect(t, "bad token", answertest.Get(t, url+"/", "Bearer not-a-jwt"), answertest.Answer{Status: 200, Body: c.badBody})
		} else {
			f.Case(t, "malformed JWT").Check(t, answertest.Get(t, url+"/", "Bearer not-a-jwt"))
		}
	}
}

// Skip rules and the CORS preflight handler of the core apply to Echo
// routes, next to Echo's own Skipper.
func TestRouteRules(t *testing.T) {
	f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths("/public")), bearer.WithCORSPreflight(bypasstest.CORS))
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET("/public/*", reasonOf)
	e.GET("/private", reasonOf)
	e.OPTIONS("/private", reasonOf)
	url := answertest.Serve(t, e)

	answertest.Expect(t, "skipped path", answertest.Get(t, url+"/public/x"), answertest.Answer{Status: 200, Body: "untouched"})
	f.Case(t, "no header").Check(t, answertest.Get(t, url+"/private"))
	options := func(header map[string]string) int {
		req, _ := http.NewRequest(http.MethodOptions, url+"/private", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := options(map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}); code != http.StatusNoContent {
		t.Errorf("preflight: %d", code)
	}
	if code := options(map[string]string{"Origin": "https://app.example"}); code != 401 {
		t.Errorf("OPTIONS that is no preflight: %d", code)
	}
}

// The authorization rules answer through Echo with the same 403s.
func TestRules(t *testing.T) {
	f := answertest.New(t)
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET("/any", reasonOf, echobearer.Require(bearer.AnyScope("read", "write")))
	e.GET("/group", reasonOf, echobearer.Require(bearer.ClaimIncludes("groups", "ops")))
	e.GET("/tenant", reasonOf, echobearer.Require(bearer.ClaimEquals("tenant", "acme")))
	url := answertest.Serve(t, e)
	mint := func(claims bearertest.Claims) string {
		claims["sub"] = "alice"
		return "Bearer " + f.Issuer.MustMint(claims)
	}
	ok := answertest.Answer{Status: 200, Body: "token alice"}
	answertest.Expect(t, "any: one of them", answertest.Get(t, url+"/any", mint(bearertest.Claims{"scope": "write"})), ok)
	answertest.Expect(t, "any: none", answertest.Get(t, url+"/any", mint(bearertest.Claims{"scope": "x"})), answertest.NoScope("read write"))
	answertest.Expect(t, "includes: array", answertest.Get(t, url+"/group", mint(bearertest.Claims{"groups": []string{"dev", "ops"}})), ok)
	answertest.Expect(t, "includes: string", answertest.Get(t, url+"/group", mint(bearertest.Claims{"groups": "dev ops"})), ok)
	answertest.Expect(t, "includes: missing", answertest.Get(t, url+"/group", mint(bearertest.Claims{"groups": "dev"})), answertest.NoPrivileges)
	answertest.Expect(t, "equals", answertest.Get(t, url+"/tenant", mint(bearertest.Claims{"tenant": "acme"})), ok)
	answertest.Expect(t, "equals: other", answertest.Get(t, url+"/tenant", mint(bearertest.Claims{"tenant": "globex"})), answertest.NoPrivileges)
}

// RFC 9728's resource_metadata reaches Echo's answers, and the observer
// hears each request once.
func TestMetadataAndObserver(t *testing.T) {
	heard := &heardLog{}
	f := answertest.New(t, bearer.WithObserver(heard),
		bearer.WithResourceMetadata(bearer.ResourceMetadata{Resource: "https://api.example.com"}))
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET("/", reasonOf)
	url := answertest.Serve(t, e)

	got := answertest.Get(t, url+"/")
	if want := `Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`; got.Challenge != want {
		t.Errorf("challenge %s, want %s", got.Challenge, want)
	}
	answertest.Get(t, url+"/", "Bearer "+f.Token(t, ""))
	if got, want := heard.String(), "rejected bearer token required; verified alice"; got != want {
		t.Errorf("heard %q, want %q", got, want)
	}
}

type heardLog struct {
	bearer.NopObserver
	mu  sync.Mutex
	log []string
}

func (h *heardLog) TokenVerified(_ context.Context, t *bearer.Token, _ bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, "verified "+t.Subject())
}

func (h *heardLog) TokenRejected(_ context.Context, e *bearer.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, "rejected "+e.Description)
}

func (h *heardLog) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.log, "; ")
}
