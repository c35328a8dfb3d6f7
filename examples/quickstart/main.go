// Command quickstart is the whole bearer flow in one program: a /login
// endpoint that checks a demo username and password and issues a signed
// token (the identity provider's role, for the demo only), a public
// endpoint, and endpoints protected by the bearer middleware, one of which
// needs a scope.
//
//	go run ./quickstart
//
// It prints the curl commands to try.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// users are the demo accounts: password and granted scopes.
var users = map[string]struct {
	password string
	scopes   string
}{
	"alice": {"wonderland", "notes:read notes:write"},
	"bob":   {"builder", "notes:read"},
}

const audience = "quickstart-api"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	app, err := newApp("http://" + *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	srv := &http.Server{Addr: *addr, Handler: app.routes(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()

	printUsage("http://" + *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// app is the API: an issuer of its own for /login, and the middleware
// that trusts it.
type app struct {
	issuer *bearertest.Issuer
	auth   *bearer.Middleware
}

func newApp(url string) (*app, error) {
	issuer, err := bearertest.NewIssuer(bearertest.EdDSA,
		bearertest.WithIssuer(url),
		bearertest.WithAudience(audience),
		bearertest.WithTTL(15*time.Minute))
	if err != nil {
		return nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(url),
		bearer.WithAudience(audience),
		bearer.WithRealm("quickstart"))
	if err != nil {
		return nil, err
	}
	return &app{issuer: issuer, auth: auth}, nil
}

func (a *app) Close() error { return a.auth.Close() }

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "anyone can read this"})
	})
	mux.Handle("GET /me", a.auth.Handler(http.HandlerFunc(me)))
	mux.Handle("GET /notes", a.auth.Handler(bearer.RequireScopes("notes:read")(http.HandlerFunc(listNotes))))
	mux.Handle("POST /notes", a.auth.Handler(bearer.RequireScopes("notes:write")(http.HandlerFunc(addNote))))
	return mux
}

// login answers like an OAuth token endpoint (RFC 6749 §5.1).
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var creds struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&creds); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	u, ok := users[creds.Username]
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(creds.Password)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_grant"})
		return
	}
	token, err := a.issuer.Mint(bearertest.Claims{"sub": creds.Username, "scope": u.scopes})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int((15 * time.Minute).Seconds()),
		"scope":        u.scopes,
	})
}

func me(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearer.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"subject":    tok.Subject(),
		"scopes":     tok.Scopes(),
		"expires_at": tok.Expiry(),
	})
}

func listNotes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"owner": bearer.Subject(r.Context()), "notes": []string{"buy milk"}})
}

func addNote(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusCreated, map[string]any{"owner": bearer.Subject(r.Context()), "created": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func printUsage(base string) {
	fmt.Printf(`quickstart API listening on %[1]s

Demo users: alice / wonderland (notes:read notes:write), bob / builder (notes:read)

Try:
  curl -s %[1]s/public
  TOKEN=$(curl -s -X POST %[1]s/login -d '{"username":"alice","password":"wonderland"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s %[1]s/me -H "Authorization: Bearer $TOKEN"
  curl -s %[1]s/notes -H "Authorization: Bearer $TOKEN"
  curl -s -X POST %[1]s/notes -H "Authorization: Bearer $TOKEN"
  curl -si %[1]s/me                                   # 401, no token
  curl -si %[1]s/me -H "Authorization: Bearer nope"   # 401 invalid_token

  BOB=$(curl -s -X POST %[1]s/login -d '{"username":"bob","password":"builder"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -si -X POST %[1]s/notes -H "Authorization: Bearer $BOB"   # 403 insufficient_scope

Ctrl-C stops it.
`, strings.TrimSuffix(base, "/"))
}
