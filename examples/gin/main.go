// Command gin is a Gin API protected by ginbearer: a public route, an /api
// group that needs a token, and an /api/admin group that needs the
// "admin" scope. Tokens come from an in-process test issuer, so no
// identity provider is needed; on start it prints curl commands with
// freshly minted tokens.
//
//	go run ./gin
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)

	issuer, auth, err := newAuth()
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	err = demo.ListenAndServe(*addr, routes(auth), func(addr string) {
		demo.PrintCurl(os.Stdout, "Gin", addr, "/api", issuer)
	})
	if err != nil {
		auth.Close()
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
		tok, _ := ginbearer.FromContext(c)
		c.JSON(http.StatusOK, gin.H{"requests": 42, "by": tok.Subject()})
	})
	return r
}

// newAuth returns the demo's identity provider and the example's
// middleware, which trusts it. With a real provider, its keys come from
// bearer.RemoteJWKS(jwksURL) or bearer.Discover(issuerURL) in place of
// issuer.KeySource(), and WithIssuer names its exact iss.
func newAuth() (*bearertest.Issuer, *bearer.Middleware, error) {
	issuer, err := demo.Issuer("gin-example")
	if err != nil {
		return nil, nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience("gin-example"),
		bearer.WithRealm("gin-example"))
	if err != nil {
		return nil, nil, err
	}
	return issuer, auth, nil
}
