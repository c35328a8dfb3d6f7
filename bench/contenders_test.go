package bench

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwxv2 "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// contender builds one middleware around the application handler for a
// fixture. Each is configured as its documentation suggests, with the
// algorithm pinned and iss and aud required.
type contender struct {
	name string
	new  func(tb testing.TB, f *fixture) http.Handler
	bare bool // a framework without authentication, the baseline
}

// Names are what cmd/ratios reads: "nethttp", "echo" (and "gin") are the
// bare frameworks, "floor" the signature check alone; a name starting with
// "echo" or "gin" is measured against that framework's bare row.
var contenders = []contender{
	{"nethttp", bareNetHTTP, true},
	{"bearer", bearerMiddleware(bearer.WithTokenCache(0)), false},
	{"bearer-cached", bearerMiddleware(), false},
	{"golang-jwt", golangJWT, false},
	{"auth0", auth0, false},
	{"jwtauth", chiJWTAuth, false},
	{"jwx", naiveJWX, false},
	{"echo", bareEcho, true},
	{"echo-jwt", echoJWT, false},
	{"echobearer", echoBearer(bearer.WithTokenCache(0)), false},
	{"echobearer-cached", echoBearer(), false},
	{"gin", bareGin, true},
	{"ginbearer", ginBearer(bearer.WithTokenCache(0)), false},
	{"ginbearer-cached", ginBearer(), false},
}

func bareNetHTTP(tb testing.TB, f *fixture) http.Handler {
	return protected(func(*http.Request) string { return "anonymous" })
}

// newBearer is bearer's middleware for f: the key as a Secret or
// PublicKey, iss and aud required, the cache as opts say.
func newBearer(tb testing.TB, f *fixture, opts ...bearer.Option) *bearer.Middleware {
	src := bearer.PublicKey(f.public)
	if f.secret != nil {
		src = bearer.Secret(f.secret)
	}
	opts = append([]bearer.Option{bearer.WithIssuer(issuer), bearer.WithAudience(audience)}, opts...)
	m, err := bearer.New(src, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func bearerMiddleware(opts ...bearer.Option) func(tb testing.TB, f *fixture) http.Handler {
	return func(tb testing.TB, f *fixture) http.Handler {
		return newBearer(tb, f, opts...).Handler(protected(func(r *http.Request) string { return bearer.Subject(r.Context()) }))
	}
}

// echoBearer is bearer through its Echo adapter, adapters/echobearer.
func echoBearer(opts ...bearer.Option) func(tb testing.TB, f *fixture) http.Handler {
	return func(tb testing.TB, f *fixture) http.Handler {
		e := newEcho(echobearer.Middleware(newBearer(tb, f, opts...)))
		e.GET("/orders", func(c echo.Context) error {
			if t, ok := echobearer.FromContext(c); !ok || t.Subject() == "" {
				return errors.New("no subject")
			}
			return c.NoContent(http.StatusNoContent)
		})
		return e
	}
}

func newGin(mw ...gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.Use(mw...)
	return g
}

func bareGin(tb testing.TB, f *fixture) http.Handler {
	g := newGin()
	g.GET("/orders", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	return g
}

// ginBearer is bearer through its Gin adapter, adapters/ginbearer.
func ginBearer(opts ...bearer.Option) func(tb testing.TB, f *fixture) http.Handler {
	return func(tb testing.TB, f *fixture) http.Handler {
		g := newGin(ginbearer.Middleware(newBearer(tb, f, opts...)))
		g.GET("/orders", func(c *gin.Context) {
			if t, ok := ginbearer.FromContext(c); !ok || t.Subject() == "" {
				c.Status(http.StatusInternalServerError)
				return
			}
			c.Status(http.StatusNoContent)
		})
		return g
	}
}

// handWritten is the middleware services write around a JWT library:
// the token after "Bearer ", verify, the result into the context.
func handWritten[T any](verify func(raw string) (T, error), subject func(T) string) http.Handler {
	type ctxKey struct{}
	next := protected(func(r *http.Request) string {
		v, _ := r.Context().Value(ctxKey{}).(T)
		return subject(v)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		v, err := verify(raw)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, v)))
	})
}

// golangJWTParser is github.com/golang-jwt/jwt/v5 set up as its
// documentation recommends: the algorithm pinned, iss, aud and exp required.
func golangJWTParser(f *fixture) func(raw string) (*jwt.Token, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{f.alg}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
	)
	key := f.key()
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return func(raw string) (*jwt.Token, error) {
		return parser.ParseWithClaims(raw, jwt.MapClaims{}, keyFunc)
	}
}

func golangJWTSubject(t *jwt.Token) string {
	if t == nil {
		return ""
	}
	sub, _ := t.Claims.GetSubject()
	return sub
}

// golangJWT is the middleware most services write by hand around
// github.com/golang-jwt/jwt/v5.
func golangJWT(tb testing.TB, f *fixture) http.Handler {
	return handWritten(golangJWTParser(f), golangJWTSubject)
}

// auth0 is github.com/auth0/go-jwt-middleware/v2 with its validator.
func auth0(tb testing.TB, f *fixture) http.Handler {
	key := f.key()
	v, err := validator.New(func(context.Context) (any, error) { return key, nil },
		validator.SignatureAlgorithm(f.alg), issuer, []string{audience})
	if err != nil {
		tb.Fatal(err)
	}
	return jwtmiddleware.New(v.ValidateToken).CheckJWT(protected(func(r *http.Request) string {
		c, _ := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
		return c.RegisteredClaims.Subject
	}))
}

// chiJWTAuth is github.com/go-chi/jwtauth/v5: Verifier then Authenticator.
func chiJWTAuth(tb testing.TB, f *fixture) http.Handler {
	ja := jwtauth.New(f.alg, nil, f.key(), jwxv2.WithIssuer(issuer), jwxv2.WithAudience(audience))
	next := protected(func(r *http.Request) string {
		t, _ := r.Context().Value(jwtauth.TokenCtxKey).(jwxv2.Token)
		return t.Subject()
	})
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(next))
}

// naiveJWX is a hand-written middleware around jwx v3's jwt.Parse, the
// library bearer uses for keys.
func naiveJWX(tb testing.TB, f *fixture) http.Handler {
	alg, ok := jwa.LookupSignatureAlgorithm(f.alg)
	if !ok {
		tb.Fatalf("jwx: no algorithm %s", f.alg)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(alg, f.key()),
		jwxjwt.WithIssuer(issuer),
		jwxjwt.WithAudience(audience),
	}
	return handWritten(func(raw string) (jwxjwt.Token, error) {
		return jwxjwt.ParseString(raw, opts...)
	}, func(t jwxjwt.Token) string {
		if t == nil {
			return ""
		}
		sub, _ := t.Subject()
		return sub
	})
}

func newEcho(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(mw...)
	return e
}

func bareEcho(tb testing.TB, f *fixture) http.Handler {
	e := newEcho()
	e.GET("/orders", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	return e
}

// echoJWT is github.com/labstack/echo-jwt/v4. Its default parser checks
// neither iss nor aud, so, as its documentation suggests for extra checks,
// ParseTokenFunc runs a golang-jwt parser that does.
func echoJWT(tb testing.TB, f *fixture) http.Handler {
	parse := golangJWTParser(f)
	e := newEcho(echojwt.WithConfig(echojwt.Config{
		ParseTokenFunc: func(c echo.Context, auth string) (any, error) { return parse(auth) },
	}))
	e.GET("/orders", func(c echo.Context) error {
		t, _ := c.Get("user").(*jwt.Token)
		if golangJWTSubject(t) == "" {
			return errors.New("no subject")
		}
		return c.NoContent(http.StatusNoContent)
	})
	return e
}
