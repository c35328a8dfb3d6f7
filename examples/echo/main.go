// Command echo is an Echo API protected by echobearer: a public route, a
// route that needs a token, and an /admin group that needs the "admin"
// scope. Tokens come from an in-process test issuer, so no identity
// provider is needed; on start it prints curl commands with freshly minted
// tokens.
//
//	go run ./echo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/labstack/echo/v4"
)

const audience = "echo-example"

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()

	issuer := bearertest.MustIssuer(bearertest.ES256, bearertest.WithAudience(audience))
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(audience),
		bearer.WithRealm("echo-example"))
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	srv := &http.Server{Addr: *addr, Handler: routes(auth), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()

	fmt.Printf(`Echo example listening on http://%[1]s

Tokens, valid for an hour:
  ADMIN=%[2]s
  USER=%[3]s

Try:
  curl -s http://%[1]s/public
  curl -si http://%[1]s/me                                      # 401, no token
  curl -s http://%[1]s/me -H "Authorization: Bearer $USER"
  curl -si http://%[1]s/admin/stats -H "Authorization: Bearer $USER"    # 403 insufficient_scope
  curl -s http://%[1]s/admin/stats -H "Authorization: Bearer $ADMIN"

Ctrl-C stops it.
`, *addr,
		issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "admin"}),
		issuer.MustMint(bearertest.Claims{"sub": "bob", "scope": "profile"}))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
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
