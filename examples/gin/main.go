// Command gin is a Gin API protected by ginbearer: a public route, an /api
// group that needs a token, and an /api/admin group that needs the
// "admin" scope. Tokens come from an in-process test issuer, so no
// identity provider is needed; on start it prints curl commands with
// freshly minted tokens.
//
//	go run ./gin
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
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/gin-gonic/gin"
)

const audience = "gin-example"

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)

	issuer := bearertest.MustIssuer(bearertest.ES256, bearertest.WithAudience(audience))
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(audience),
		bearer.WithRealm("gin-example"))
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

	fmt.Printf(`Gin example listening on http://%[1]s

Tokens, valid for an hour:
  ADMIN=%[2]s
  USER=%[3]s

Try:
  curl -s http://%[1]s/public
  curl -si http://%[1]s/api/me                                      # 401, no token
  curl -s http://%[1]s/api/me -H "Authorization: Bearer $USER"
  curl -si http://%[1]s/api/admin/stats -H "Authorization: Bearer $USER"   # 403 insufficient_scope
  curl -s http://%[1]s/api/admin/stats -H "Authorization: Bearer $ADMIN"

Ctrl-C stops it.
`, *addr,
		issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "admin"}),
		issuer.MustMint(bearertest.Claims{"sub": "bob", "scope": "profile"}))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// routes returns the API; gin.Logger shows the errors the middleware
// records for refused requests.
func routes(auth *bearer.Middleware) *gin.Engine {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	r.GET("/public", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "anyone can read this"})
	})
	api := r.Group("/api", ginbearer.Middleware(auth))
	api.GET("/me", func(c *gin.Context) {
		tok, _ := ginbearer.FromContext(c)
		c.JSON(http.StatusOK, gin.H{"subject": tok.Subject(), "scopes": tok.Scopes()})
	})
	admin := api.Group("/admin", ginbearer.RequireScopes("admin"))
	admin.GET("/stats", func(c *gin.Context) {
		tok := c.MustGet(ginbearer.TokenKey).(*bearer.Token)
		c.JSON(http.StatusOK, gin.H{"requests": 42, "by": tok.Subject()})
	})
	return r
}
