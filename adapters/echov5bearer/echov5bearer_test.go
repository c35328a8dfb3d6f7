package echov5bearer_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echov5bearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/labstack/echo/v5"
)

// hello answers with the subject of the token, after checking that both
// accessors find the same token.
func hello(c *echo.Context) error {
	tok, ok := echov5bearer.FromContext(c)
	same, _ := bearer.FromContext(c.Request().Context())
	if tok != same {
		return c.String(http.StatusInternalServerError, "accessors disagree")
	}
	if !ok {
		return c.String(http.StatusOK, "anonymous")
	}
	return c.String(http.StatusOK, tok.Subject())
}

// app is the app of answertest.App.
func app(m *bearer.Middleware) *echo.Echo {
	e := echo.New()
	e.Use(echov5bearer.Middleware(m))
	e.GET("/", hello)
	e.GET("/read", hello, echov5bearer.RequireScopes("read"))
	admin := e.Group("/admin", echov5bearer.RequireScopes("admin", "audit"))
	admin.GET("/users", hello)
	e.GET("/bob", hello, echov5bearer.Require(bearer.ClaimEquals("sub", "bob")))
	return e
}

func TestAnswers(t *testing.T) {
	answertest.Run(t, func(m *bearer.Middleware) http.Handler { return app(m) })
}

// An application's own HTTPErrorHandler gets the *bearer.Error and writes
// its own body; the answer still carries the exact challenge.
func TestCustomErrorHandler(t *testing.T) {
	f := answertest.New(t)
	var handled []error
	e := app(f.Middleware)
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		handled = append(handled, err)
		var be *bearer.Error
		if !errors.As(err, &be) {
			c.String(http.StatusInternalServerError, "unexpected error")
			return
		}
		c.String(echo.StatusCode(err), "custom: "+be.Description)
	}
	url := answertest.Serve(t, e)
	c := f.Case(t, "bad signature")
	answertest.Expect(t, "bad token", answertest.Get(t, url+"/", c.Authorization...),
		answertest.Answer{Status: 401, Challenge: c.Challenge, CacheControl: "no-store", Body: "custom: signature invalid"})
	answertest.Expect(t, "missing scope", answertest.Get(t, url+"/admin/users", "Bearer "+f.Token(t, "admin")),
		answertest.Answer{Status: 403, Challenge: answertest.ScopeChallenge("admin audit"), CacheControl: "no-store", Body: "custom: insufficient scope"})
	if len(handled) != 2 || !errors.Is(handled[0], bearer.ErrSignature) || !errors.Is(handled[1], bearer.ErrInsufficientScope) {
		t.Errorf("handled %v", handled)
	}
}

// Echo's RFC 9457 error handler takes the status from the error, and the
// challenge is already on the response.
func TestProblemDetails(t *testing.T) {
	f := answertest.New(t)
	e := app(f.Middleware)
	e.HTTPErrorHandler = echo.ProblemDetailsHTTPErrorHandler(false)
	url := answertest.Serve(t, e)
	c := f.Case(t, "expired")
	a := answertest.Get(t, url+"/", c.Authorization...)
	want := answertest.Answer{Status: 401, Challenge: c.Challenge, CacheControl: "no-store",
		Body: `{"type":"about:blank","title":"Unauthorized","status":401}`}
	if a != want {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

func TestSkipper(t *testing.T) {
	f := answertest.New(t)
	e := echo.New()
	e.Use(echov5bearer.MiddlewareWithConfig(echov5bearer.Config{
		Middleware: f.Middleware,
		Skipper:    func(c *echo.Context) bool { return c.Path() == "/health" },
	}))
	e.GET("/health", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/", hello)
	url := answertest.Serve(t, e)
	if a := answertest.Get(t, url+"/health"); a.Status != http.StatusOK || a.Body != "ok" {
		t.Errorf("skipped route: %+v", a)
	}
	if a := answertest.Get(t, url+"/"); a.Status != http.StatusUnauthorized || a.Challenge != `Bearer realm="api"` {
		t.Errorf("other route: %+v", a)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := (echov5bearer.Config{}).ToMiddleware(); err == nil {
		t.Error("ToMiddleware without a Middleware: no error")
	}
	for name, fn := range map[string]func(){
		"MiddlewareWithConfig": func() { echov5bearer.MiddlewareWithConfig(echov5bearer.Config{}) },
		"RequireScopes":        func() { echov5bearer.RequireScopes("two words") },
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
func noContent(c *echo.Context) error { return c.NoContent(http.StatusNoContent) }

func routes(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET("/", noContent, mw...)
	return e
}

// The adapter adds at most one allocation per request to what the
// net/http middleware allocates. (Echo v5 builds middleware chains when
// routes are added, not on every request as v4 does.)
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	mw := echov5bearer.Middleware(f.Middleware)
	t.Run("Middleware", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware), answertest.Pair{With: routes(mw), Without: routes()}, 0)
	})
	t.Run("RequireScopes", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Scopes(f.Middleware, "read"),
			answertest.Pair{With: routes(mw, echov5bearer.RequireScopes("read")), Without: routes(mw)}, 0)
	})
}

func BenchmarkMiddleware(b *testing.B) {
	f := answertest.New(b)
	answertest.Benchmark(b, "Bearer "+f.Token(b, "read"), answertest.Middleware(f.Middleware),
		answertest.Pair{With: routes(echov5bearer.Middleware(f.Middleware)), Without: routes()})
}
