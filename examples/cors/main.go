// Command cors serves an API to a browser app on another origin. rs/cors
// comes first: it answers CORS preflights, which browsers send without a
// token, and puts its headers on every answer, 401s included, so the app
// can read them. bearer is mounted on the routes that need a token (a chi
// group), and the public routes stay outside it: no path trick can skip
// the token check, as there is no skip rule to trick.
//
//	go run ./cors
//
// It prints the curl commands to try.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"testing/fstest"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/go-chi/chi/v5"
	"github.com/rs/cors"
)

const (
	audience = "notes"
	// origin is where the browser app is served from.
	origin = "http://localhost:3000"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8070", "listen address")
	flag.Parse()
	a, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	err = demo.ListenAndServe(*addr, a.routes(), func(addr string) { a.printUsage(os.Stdout, addr) })
	a.auth.Close()
	if err != nil {
		log.Fatal(err)
	}
}

// app is the API: a test issuer standing in for the identity provider,
// the middleware that trusts it, and the CORS policy.
type app struct {
	issuer *bearertest.Issuer
	auth   *bearer.Middleware
	cors   *cors.Cors
}

func newApp() (*app, error) {
	issuer, auth, err := newAuth()
	if err != nil {
		return nil, err
	}
	return &app{issuer: issuer, auth: auth, cors: cors.New(cors.Options{
		AllowedOrigins: []string{origin},
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		// The app reads why a request failed from the challenge.
		ExposedHeaders: []string{"WWW-Authenticate"},
		MaxAge:         600,
	})}, nil
}

// files stand for content that must not leave without a token; a file
// server answers every method, OPTIONS included.
var files = fstest.MapFS{"report.txt": {Data: []byte("quarterly numbers\n")}}

func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(a.cors.Handler)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	r.Group(func(r chi.Router) {
		r.Use(a.auth.Handler)
		r.Get("/api/{version}/notes", func(w http.ResponseWriter, r *http.Request) {
			t, _ := bearer.FromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"version": chi.URLParam(r, "version"), "owner": t.Subject()})
		})
		r.Handle("/files/*", http.StripPrefix("/files/", http.FileServerFS(files)))
	})
	return r
}

func (a *app) printUsage(w io.Writer, addr string) {
	_, user := demo.Tokens(a.issuer)
	fmt.Fprintf(w, `CORS example listening on http://%[1]s, for a browser app on %[2]s

Token, valid for an hour:
  MEMBER=%[3]s

Try:
  curl -si -X OPTIONS http://%[1]s/api/v1/notes -H "Origin: %[2]s" -H "Access-Control-Request-Method: GET" -H "Access-Control-Request-Headers: authorization"   # 204 from rs/cors
  curl -si http://%[1]s/api/v1/notes -H "Origin: %[2]s"                                 # 401, with Access-Control-Allow-Origin
  curl -s http://%[1]s/api/v1/notes -H "Origin: %[2]s" -H "Authorization: Bearer $MEMBER"
  curl -s http://%[1]s/files/report.txt -H "Authorization: Bearer $MEMBER"

Ctrl-C stops it.
`, addr, origin, user)
}

// newAuth returns the demo's identity provider and the example's
// middleware, which trusts it. With a real provider, its keys come from
// bearer.RemoteJWKS(jwksURL) or bearer.Discover(issuerURL) in place of
// issuer.KeySource(), and WithIssuer names its exact iss.
func newAuth() (*bearertest.Issuer, *bearer.Middleware, error) {
	issuer, err := demo.Issuer(audience)
	if err != nil {
		return nil, nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(audience),
		bearer.WithRealm(audience))
	if err != nil {
		return nil, nil, err
	}
	return issuer, auth, nil
}
