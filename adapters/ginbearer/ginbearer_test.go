package ginbearer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// hello answers with the subject of the token, after checking that every
// accessor finds the same token.
func hello(c *gin.Context) {
	tok, ok := ginbearer.FromContext(c)
	inRequest, _ := bearer.FromContext(c.Request.Context())
	inGin, _ := c.Get(ginbearer.TokenKey)
	if !ok || tok != inRequest || tok != inGin {
		c.String(http.StatusInternalServerError, "accessors disagree")
		return
	}
	c.String(http.StatusOK, tok.Subject())
}

// server returns a Gin app with the middleware on every route, an /admin
// group that needs the "admin" and "audit" scopes, and a route that needs
// "read". It records the errors of every request in *errs.
func server(t *testing.T, f *answertest.Fixture, errs *[]*gin.Error) string {
	t.Helper()
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		if errs != nil {
			*errs = append(*errs, c.Errors...)
		}
	})
	r.Use(ginbearer.Middleware(f.Middleware))
	r.GET("/", hello)
	r.GET("/read", ginbearer.RequireScopes("read"), hello)
	admin := r.Group("/admin", ginbearer.RequireScopes("admin", "audit"))
	admin.GET("/users", hello)
	r.GET("/bob", ginbearer.Require(bearer.ClaimEquals("sub", "bob")), hello)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAnswersTable(t *testing.T) {
	f := answertest.New(t)
	var errs []*gin.Error
	url := server(t, f, &errs)
	cases := f.Cases(t)
	for _, c := range cases {
		c.Check(t, answertest.Get(t, url+"/", c.Authorization...))
	}
	// Each failure is recorded once, as a private error, for Gin's logger.
	if len(errs) != len(cases) {
		t.Fatalf("%d errors recorded for %d failed requests", len(errs), len(cases))
	}
	for i, c := range cases {
		if !errors.Is(errs[i], c.Cause) || errs[i].Type != gin.ErrorTypePrivate {
			t.Errorf("%s: recorded %v (type %d), want %v", c.Name, errs[i].Err, errs[i].Type, c.Cause)
		}
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
	var errs []*gin.Error
	url := server(t, f, &errs)
	for path, scopes := range map[string]string{"/read": "read", "/admin/users": "admin audit"} {
		errs = nil
		a := answertest.Get(t, url+path, "Bearer "+f.Token(t, "admin"))
		want := answertest.Answer{Status: http.StatusForbidden, Challenge: answertest.ScopeChallenge(scopes),
			CacheControl: "no-store", Body: answertest.ScopeBody(scopes)}
		if a != want {
			t.Errorf("%s:\n got %+v\nwant %+v", path, a, want)
		}
		if len(errs) != 1 || !errors.Is(errs[0], bearer.ErrInsufficientScope) {
			t.Errorf("%s: recorded %v", path, errs)
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
	url := server(t, f, nil)
	if a := answertest.Get(t, url+"/", "Bearer not-a-jwt"); a.Status != 401 || a.Body != "custom: malformed token" {
		t.Errorf("bad token: %+v", a)
	}
	if a := answertest.Get(t, url+"/read", "Bearer "+f.Token(t, "")); a.Status != 403 || a.Body != "custom: insufficient scope" {
		t.Errorf("missing scope: %+v", a)
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

// Under WithCredentialsOptional requests without a token go on, and
// RequireScopes answers them 401 with the middleware's realm.
func TestCredentialsOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithCredentialsOptional())
	r := gin.New()
	r.Use(ginbearer.Middleware(f.Middleware))
	r.GET("/", func(c *gin.Context) {
		_, inRequest := ginbearer.FromContext(c)
		_, inGin := c.Get(ginbearer.TokenKey)
		c.JSON(http.StatusOK, inRequest || inGin)
	})
	r.GET("/read", ginbearer.RequireScopes("read"), hello)
	srv := httptest.NewServer(r)
	defer srv.Close()

	if a := answertest.Get(t, srv.URL+"/"); a.Status != http.StatusOK || a.Body != "false" {
		t.Errorf("no token: %+v", a)
	}
	want := answertest.Answer{Status: 401, Challenge: `Bearer realm="api"`, CacheControl: "no-store",
		Body: `{"error":"unauthorized","error_description":"bearer token required"}`}
	if a := answertest.Get(t, srv.URL+"/read"); a != want {
		t.Errorf("scoped route without a token:\n got %+v\nwant %+v", a, want)
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
	srv := httptest.NewServer(r)
	defer srv.Close()
	if a := answertest.Get(t, srv.URL+"/", "Bearer "+f.Token(t, "")); a.Status != http.StatusOK || a.Body != "alice" {
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

// The adapter allocates nothing beyond the net/http middleware but Gin's
// Keys map: Gin makes it (two allocations) on the first c.Set of each
// request, and every later c.Set shares it. After an earlier c.Set, the
// adapter adds nothing; as the first to set a key, it pays for the map.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	mw := ginbearer.Middleware(f.Middleware)
	t.Run("Middleware", func(t *testing.T) {
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware),
			answertest.Pair{With: routes(setKey, mw), Without: routes(setKey)}, 0)
	})
	t.Run("Middleware first to set a key", func(t *testing.T) {
		keys := answertest.Pair{With: routes(setKey), Without: routes()}.Added(auth)
		answertest.CheckOverhead(t, auth, answertest.Middleware(f.Middleware),
			answertest.Pair{With: routes(mw), Without: routes()}, keys)
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
