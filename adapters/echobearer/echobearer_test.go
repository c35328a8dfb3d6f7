package echobearer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/labstack/echo/v4"
)

// hello answers with the subject of the token, after checking that both
// accessors find the same token.
func hello(c echo.Context) error {
	tok, ok := echobearer.FromContext(c)
	same, _ := bearer.FromContext(c.Request().Context())
	if !ok || tok != same {
		return c.String(http.StatusInternalServerError, "accessors disagree")
	}
	return c.String(http.StatusOK, tok.Subject())
}

// server returns an Echo app with the middleware on every route, a /admin
// group that needs the "admin" scope, and a route that needs "read".
func server(t *testing.T, f *answertest.Fixture, setup func(e *echo.Echo)) string {
	t.Helper()
	e := echo.New()
	if setup != nil {
		setup(e)
	}
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET("/", hello)
	e.GET("/read", hello, echobearer.RequireScopes("read"))
	admin := e.Group("/admin", echobearer.RequireScopes("admin", "audit"))
	admin.GET("/users", hello)
	e.GET("/bob", hello, echobearer.Require(bearer.ClaimEquals("sub", "bob")))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAnswersTable(t *testing.T) {
	f := answertest.New(t)
	url := server(t, f, nil)
	for _, c := range f.Cases(t) {
		c.Check(t, answertest.Get(t, url+"/", c.Authorization...))
	}
}

func TestToken(t *testing.T) {
	f := answertest.New(t)
	url := server(t, f, nil)
	for _, path := range []string{"/", "/read", "/admin/users"} {
		a := answertest.Get(t, url+path, "Bearer "+f.Token(t, "audit read admin"))
		if a.Status != http.StatusOK || a.Body != "alice" {
			t.Errorf("%s: got %+v, want 200 alice", path, a)
		}
	}
}

func TestRequireScopes(t *testing.T) {
	f := answertest.New(t)
	url := server(t, f, nil)
	for path, scopes := range map[string]string{"/read": "read", "/admin/users": "admin audit"} {
		a := answertest.Get(t, url+path, "Bearer "+f.Token(t, "admin"))
		want := answertest.Answer{Status: http.StatusForbidden, Challenge: answertest.ScopeChallenge(scopes),
			CacheControl: "no-store", Body: answertest.ScopeBody(scopes)}
		if a != want {
			t.Errorf("%s:\n got %+v\nwant %+v", path, a, want)
		}
	}
}

// An application's own HTTPErrorHandler gets the *bearer.Error and writes
// its own body; the answer still carries the exact challenge.
func TestCustomErrorHandler(t *testing.T) {
	f := answertest.New(t)
	var handled []error
	url := server(t, f, func(e *echo.Echo) {
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			handled = append(handled, err)
			var he *echo.HTTPError
			var be *bearer.Error
			if !errors.As(err, &he) || !errors.As(err, &be) {
				c.String(http.StatusInternalServerError, "unexpected error")
				return
			}
			c.String(he.Code, "custom: "+be.Description)
		}
	})
	c := f.Case(t, "bad signature")
	a := answertest.Get(t, url+"/", c.Authorization...)
	want := answertest.Answer{Status: 401, Challenge: c.Challenge, CacheControl: "no-store", Body: "custom: signature invalid"}
	if a != want {
		t.Errorf("bad token:\n got %+v\nwant %+v", a, want)
	}
	a = answertest.Get(t, url+"/admin/users", "Bearer "+f.Token(t, "admin"))
	want = answertest.Answer{Status: 403, Challenge: answertest.ScopeChallenge("admin audit"),
		CacheControl: "no-store", Body: "custom: insufficient scope"}
	if a != want {
		t.Errorf("missing scope:\n got %+v\nwant %+v", a, want)
	}
	if len(handled) != 2 || !errors.Is(handled[0], bearer.ErrSignature) || !errors.Is(handled[1], bearer.ErrInsufficientScope) {
		t.Errorf("handled %v", handled)
	}
}

// Require takes any rule, and answers its failure as the net/http
// middleware does.
func TestRequire(t *testing.T) {
	f := answertest.New(t)
	url := server(t, f, nil)
	a := answertest.Get(t, url+"/bob", "Bearer "+f.Token(t, "admin"))
	want := answertest.Answer{Status: http.StatusForbidden,
		Challenge:    `Bearer realm="api", error="insufficient_scope", error_description="insufficient privileges"`,
		CacheControl: "no-store", Body: `{"error":"insufficient_scope","error_description":"insufficient privileges"}`}
	if a != want {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestKeysUnavailable(t *testing.T) {
	f := answertest.KeysUnavailable(t)
	url := server(t, f, nil)
	a := answertest.Get(t, url+"/", "Bearer "+f.Token(t, ""))
	want := answertest.Answer{Status: 503, RetryAfter: "30", CacheControl: "no-store", Body: answertest.UnavailableBody}
	if a != want {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

func TestSkipper(t *testing.T) {
	f := answertest.New(t)
	e := echo.New()
	e.Use(echobearer.MiddlewareWithConfig(echobearer.Config{
		Middleware: f.Middleware,
		Skipper:    func(c echo.Context) bool { return c.Path() == "/health" },
	}))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/", hello)
	srv := httptest.NewServer(e)
	defer srv.Close()

	if a := answertest.Get(t, srv.URL+"/health"); a.Status != http.StatusOK || a.Body != "ok" {
		t.Errorf("skipped route: %+v", a)
	}
	if a := answertest.Get(t, srv.URL+"/"); a.Status != http.StatusUnauthorized || a.Challenge != `Bearer realm="api"` {
		t.Errorf("other route: %+v", a)
	}
}

// Under WithCredentialsOptional requests without a token pass, and
// RequireScopes answers them 401 with the middleware's realm.
func TestCredentialsOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithCredentialsOptional())
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET("/", func(c echo.Context) error {
		_, ok := echobearer.FromContext(c)
		return c.JSON(http.StatusOK, ok)
	})
	e.GET("/read", hello, echobearer.RequireScopes("read"))
	srv := httptest.NewServer(e)
	defer srv.Close()

	if a := answertest.Get(t, srv.URL+"/"); a.Status != http.StatusOK || a.Body != "false" {
		t.Errorf("no token: %+v", a)
	}
	want := answertest.Answer{Status: 401, Challenge: `Bearer realm="api"`, CacheControl: "no-store",
		Body: `{"error":"unauthorized","error_description":"bearer token required"}`}
	if a := answertest.Get(t, srv.URL+"/read"); a != want {
		t.Errorf("scoped route without a token:\n got %+v\nwant %+v", a, want)
	}
	if a := answertest.Get(t, srv.URL+"/", "Bearer not-a-jwt"); a.Status != http.StatusUnauthorized {
		t.Errorf("bad token: %+v", a)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := (echobearer.Config{}).ToMiddleware(); err == nil {
		t.Error("ToMiddleware without a Middleware: no error")
	}
	for name, fn := range map[string]func(){
		"MiddlewareWithConfig": func() { echobearer.MiddlewareWithConfig(echobearer.Config{}) },
		"RequireScopes":        func() { echobearer.RequireScopes("two words") },
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

// noContent is the cheapest Echo handler, so that measurements show the
// middleware.
func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

func routes(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET("/", noContent, mw...)
	return e
}

// The adapter adds at most one allocation per request to what the
// net/http middleware allocates: Echo v4 applies middleware anew on every
// request, and each middleware returns a closure over next.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	mw := echobearer.Middleware(f.Middleware)
	t.Run("Middleware", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware), answertest.Pair{With: routes(mw), Without: routes()}, 1)
	})
	t.Run("RequireScopes", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Scopes(f.Middleware, "read"),
			answertest.Pair{With: routes(mw, echobearer.RequireScopes("read")), Without: routes(mw)}, 1)
	})
}

func BenchmarkMiddleware(b *testing.B) {
	f := answertest.New(b)
	answertest.Benchmark(b, "Bearer "+f.Token(b, "read"), answertest.Middleware(f.Middleware),
		answertest.Pair{With: routes(echobearer.Middleware(f.Middleware)), Without: routes()})
}
