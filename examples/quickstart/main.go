// Command quickstart is the whole bearer flow in one program: a /login
// endpoint that checks a demo username and password and issues a signed
// token (the identity provider's role, for the demo only), a public
// endpoint, endpoints protected by the bearer middleware, one of which
// needs a scope, and /logout and /logout-everywhere, which revoke tokens
// before they expire.
//
//	go run ./quickstart
//
// It prints the curl commands to try.
package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
)

// users are the demo accounts: password and granted scopes.
var users = map[string]struct {
	password string
	scopes   string
}{
	"alice": {"wonderland", "notes:read notes:write"},
	"bob":   {"builder", "notes:read"},
}

const (
	audience = "quickstart-api"
	tokenTTL = 15 * time.Minute
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// run serves the demo until Ctrl-C: nil then, else why it could not (a
// busy port, say), before it prints anything.
func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:8080", "listen address")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	app, err := newApp("http://" + *addr)
	if err != nil {
		return err
	}
	defer app.Close()
	return demo.ListenAndServe(*addr, app.routes(), func(addr string) { printUsage(out, "http://"+addr) })
}

// app is the API: an issuer of its own for /login, the middleware that
// trusts it, and the list of tokens revoked before their expiry. One
// instance keeps the list in memory; several would share it with
// revocation/redisrevoke.
type app struct {
	issuer      *bearertest.Issuer
	auth        *bearer.Middleware
	revocations *bearer.MemoryRevoker
}

func newApp(url string) (*app, error) {
	issuer, err := bearertest.NewIssuer(bearertest.EdDSA,
		bearertest.WithIssuer(url),
		bearertest.WithAudience(audience),
		bearertest.WithTTL(tokenTTL))
	if err != nil {
		return nil, err
	}
	// No token lives longer than tokenTTL, so a log-out-everywhere entry
	// can go after that.
	revocations, err := bearer.NewMemoryRevoker(bearer.RevokerMaxTokenLifetime(tokenTTL))
	if err != nil {
		return nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(url),
		bearer.WithAudience(audience),
		bearer.WithRealm("quickstart"),
		bearer.WithRevocation(revocations))
	if err != nil {
		return nil, err
	}
	return &app{issuer: issuer, auth: auth, revocations: revocations}, nil
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
	mux.Handle("POST /logout", a.auth.Handler(http.HandlerFunc(a.logout)))
	mux.Handle("POST /logout-everywhere", a.auth.Handler(http.HandlerFunc(a.logoutEverywhere)))
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
	now := time.Now()
	token, err := a.issuer.Mint(bearertest.Claims{
		"sub":   creds.Username,
		"scope": u.scopes,
		"jti":   rand.Text(), // lets /logout revoke this token alone
		// iat to the microsecond, so that a token issued just after a
		// log-out-everywhere, in the same second, is not caught by it.
		"iat": float64(now.UnixMicro()) / 1e6,
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(tokenTTL.Seconds()),
		"scope":        u.scopes,
	})
}

// logout revokes the token the request was made with: it is refused from
// now on, though it has not expired.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearer.FromContext(r.Context())
	if err := a.revocations.RevokeToken(r.Context(), tok); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// logoutEverywhere revokes every token of the caller issued until now, on
// every device.
func (a *app) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearer.FromContext(r.Context())
	if err := a.revocations.RevokeSubject(r.Context(), tok.Issuer(), tok.Subject(), time.Now()); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
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

func printUsage(out io.Writer, base string) {
	fmt.Fprintf(out, `quickstart API listening on %[1]s

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

Log out (the token is revoked before it expires):
  curl -si -X POST %[1]s/logout -H "Authorization: Bearer $TOKEN"   # 204
  curl -si %[1]s/me -H "Authorization: Bearer $TOKEN"               # 401 invalid_token "token revoked"

Log out everywhere (every token of the user issued until now):
  PHONE=$(curl -s -X POST %[1]s/login -d '{"username":"bob","password":"builder"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -si -X POST %[1]s/logout-everywhere -H "Authorization: Bearer $BOB"   # 204
  curl -si %[1]s/me -H "Authorization: Bearer $PHONE"                        # 401 invalid_token "token revoked"

Ctrl-C stops it.
`, strings.TrimSuffix(base, "/"))
}
