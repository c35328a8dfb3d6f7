package ginbearer_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"
)

// TestMain runs the tests in gin's test mode, and fails the run if a test
// leaves a goroutine behind: the suite's remote key source
// (answertest.KeysUnavailable), a server, a connection.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

// hello answers with the subject of the token, after checking that the
// core finds it where the adapter does.
func hello(c *gin.Context) {
	tok, ok := ginbearer.FromContext(c)
	inRequest, inRequestOK := bearer.FromContext(c.Request.Context())
	if tok != inRequest || ok != inRequestOK {
		c.String(http.StatusInternalServerError, "accessors disagree")
		return
	}
	if !ok {
		c.String(http.StatusOK, "anonymous")
		return
	}
	c.String(http.StatusOK, tok.Subject())
}

// app is the app of answertest.App; use, if any, comes first.
func app(m *bearer.Middleware, use ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(use...)
	r.Use(ginbearer.Middleware(m))
	r.GET("/", hello)
	r.GET("/read", ginbearer.RequireScopes("read"), hello)
	admin := r.Group("/admin", ginbearer.RequireScopes("admin", "audit"))
	admin.GET("/users", hello)
	r.GET("/bob", ginbearer.Require(bearer.ClaimEquals("sub", "bob")), hello)
	return r
}

func TestAnswers(t *testing.T) {
	answertest.Run(t, func(m *bearer.Middleware) http.Handler { return app(m) })
}

// Each failure is recorded once in c.Errors, as a private error, for Gin's
// logger and the application's middleware.
func TestErrors(t *testing.T) {
	f := answertest.New(t)
	var errs []*gin.Error
	url := answertest.Serve(t, app(f.Middleware, func(c *gin.Context) {
		c.Next()
		errs = append(errs, c.Errors...)
	}))
	cases := f.Cases(t)
	for _, c := range cases {
		answertest.Get(t, url+"/", c.Authorization...)
	}
	answertest.Get(t, url+"/read", "Bearer "+f.Token(t, ""))
	causes := []error{}
	for _, c := range cases {
		causes = append(causes, c.Cause)
	}
	causes = append(causes, bearer.ErrInsufficientScope)
	if len(errs) != len(causes) {
		t.Fatalf("%d errors recorded for %d failed requests", len(errs), len(causes))
	}
	for i, cause := range causes {
		if !errors.Is(errs[i], cause) || errs[i].Type != gin.ErrorTypePrivate {
			t.Errorf("recorded %v (type %d), want %v", errs[i].Err, errs[i].Type, cause)
		}
	}
}

// An error handler set with bearer.WithErrorHandler answers, as it does in
// the net/http middleware, for the middleware and for RequireScopes.
func TestErrorHandler(t *testing.T) {
	f := answertest.New(t, bearer.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		var e *bearer.Error
		errors.As(err, &e)
		w.WriteHeader(e.Status)
		w.Write([]byte("custom: " + e.Description))
	}))
	url := answertest.Serve(t, app(f.Middleware))
	if a := answertest.Get(t, url+"/", "Bearer not-a-jwt"); a.Status != 401 || a.Body != "custom: malformed token" {
		t.Errorf("bad token: %+v", a)
	}
	if a := answertest.Get(t, url+"/read", "Bearer "+f.Token(t, "")); a.Status != 403 || a.Body != "custom: insufficient scope" {
		t.Errorf("missing scope: %+v", a)
	}
}

// With ContextWithFallback, the Gin context is a context.Context that
// finds the token too.
func TestContextWithFallback(t *testing.T) {
	f := answertest.New(t)
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(ginbearer.Middleware(f.Middleware))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, bearer.Subject(c)) })
	if a := answertest.Get(t, answertest.Serve(t, r)+"/", "Bearer "+f.Token(t, "")); a.Status != http.StatusOK || a.Body != "alice" {
		t.Errorf("got %+v", a)
	}
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"Middleware(nil)": func() { ginbearer.Middleware(nil) },
		"RequireScopes":   func() { ginbearer.RequireScopes(`"quoted"`) },
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

func routes(mw ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.GET("/", append(mw, func(c *gin.Context) { c.Status(http.StatusNoContent) })...)
	return r
}

// setKey stores a value in the Gin context, as request-id, session and
// logging middleware do.
func setKey(c *gin.Context) { c.Set("request-id", "r1") }

// The adapter allocates nothing beyond the net/http middleware, whether or
// not another middleware made Gin's Keys map first: it never sets a key.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	mw := ginbearer.Middleware(f.Middleware)
	t.Run("Middleware", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware),
			answertest.Pair{With: routes(mw), Without: routes()}, 0)
	})
	t.Run("Middleware after a c.Set", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware),
			answertest.Pair{With: routes(setKey, mw), Without: routes(setKey)}, 0)
	})
	t.Run("RequireScopes", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Scopes(f.Middleware, "read"),
			answertest.Pair{With: routes(mw, ginbearer.RequireScopes("read")), Without: routes(mw)}, 0)
	})
}

func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	f := answertest.New(b)
	auth := "Bearer " + f.Token(b, "read")
	mw := ginbearer.Middleware(f.Middleware)
	b.Run("first-key", func(b *testing.B) {
		answertest.Benchmark(b, auth, answertest.Middleware(f.Middleware), answertest.Pair{With: routes(mw), Without: routes()})
	})
	b.Run("after-key", func(b *testing.B) {
		answertest.Benchmark(b, auth, answertest.Middleware(f.Middleware), answertest.Pair{With: routes(setKey, mw), Without: routes(setKey)})
	})
}
