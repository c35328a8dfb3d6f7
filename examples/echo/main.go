// Command echo is an Echo API protected by echobearer: a public route, a
// route that needs a token, and an /admin group that needs the "admin"
// scope. Tokens come from an in-process test issuer, so no identity
// provider is needed; on start it prints curl commands with freshly minted
// tokens.
//
//	go run ./echo
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()

	issuer, auth, err := newAuth()
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	err = demo.ListenAndServe(*addr, routes(auth), func(addr string) {
		demo.PrintCurl(os.Stdout, "Echo", addr, "", issuer)
	})
	if err != nil {
		auth.Close()
		log.Fatal(err)
	}
}

// routes returns the API. The middleware covers every route but /public,
// which its Skipper lets through.
func routes(auth *bearer.Middleware) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.Use(echobearer.MiddlewareWithConfig(echobearer.Config{
		Middleware: auth,
		Skipper:    func(c echo.Context) bool { return c.Path() == "/public" },
	}))
	e.GET("/public", func(c echo.Context) error {
		return c.JSON(http.StatusOK, echo.Map{"message": "anyone can read this"})
	})
	e.GET("/me", func(c echo.Context) error {
		tok, _ := echobearer.FromContext(c)
		return c.JSON(http.StatusOK, echo.Map{"subject": tok.Subject(), "scopes": tok.Scopes()})
	})
	admin := e.Group("/admin", echobearer.RequireScopes("admin"))
	admin.GET("/stats", func(c echo.Context) error {
		return c.JSON(http.StatusOK, echo.Map{"requests": 42, "by": bearer.Subject(c.Request().Context())})
	})
	return e
}

// newAuth returns the demo's identity provider and the example's
// middleware, which trusts it. With a real provider, its keys come from
// bearer.RemoteJWKS(jwksURL) or bearer.Discover(issuerURL) in place of
// issuer.KeySource(), and WithIssuer names its exact iss.
func newAuth() (*bearertest.Issuer, *bearer.Middleware, error) {
	issuer, err := demo.Issuer("echo-example")
	if err != nil {
		return nil, nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience("echo-example"),
		bearer.WithRealm("echo-example"))
	if err != nil {
		return nil, nil, err
	}
	return issuer, auth, nil
}
