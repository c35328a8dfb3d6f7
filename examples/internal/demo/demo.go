// Package demo holds what the framework examples share: a test issuer and
// a middleware that trusts it, the tokens to try, and a server that stops
// on Ctrl-C.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bearerauth/bearer/bearertest"
)

// Issuer returns the demo's identity provider: a test issuer, with keys
// made on the spot, whose tokens are for audience. Each example builds its
// own middleware that trusts it, as a service trusts a real provider.
func Issuer(audience string) (*bearertest.Issuer, error) {
	return bearertest.NewIssuer(bearertest.ES256, bearertest.WithAudience(audience))
}

// Tokens mints the demo's two tokens, valid for an hour: alice's, with
// the "admin" scope, and bob's, with "profile" only.
func Tokens(issuer *bearertest.Issuer) (admin, user string) {
	return issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "admin"}),
		issuer.MustMint(bearertest.Claims{"sub": "bob", "scope": "profile"})
}

// PrintCurl prints the tokens and the curl commands that try an HTTP
// example: /public, then prefix+"/me" and prefix+"/admin/stats".
func PrintCurl(w io.Writer, title, addr, prefix string, issuer *bearertest.Issuer) {
	admin, user := Tokens(issuer)
	fmt.Fprintf(w, `%[1]s example listening on http://%[2]s

Tokens, valid for an hour:
  ADMIN=%[4]s
  MEMBER=%[5]s

Try:
  curl -s http://%[2]s/public
  curl -si http://%[2]s%[3]s/me                                   # 401, no token
  curl -s http://%[2]s%[3]s/me -H "Authorization: Bearer $MEMBER"
  curl -si http://%[2]s%[3]s/admin/stats -H "Authorization: Bearer $MEMBER"    # 403 insufficient_scope
  curl -s http://%[2]s%[3]s/admin/stats -H "Authorization: Bearer $ADMIN"

Ctrl-C stops it.
`, title, addr, prefix, admin, user)
}

// ListenAndServe binds addr, then calls ready with the address it got (to
// print what to try: only once the port is ours, so that a busy port is an
// error, not a "listening" line), then serves h until Ctrl-C or SIGTERM,
// and shuts down gracefully: it returns once the requests in flight are
// done, so that what the handler uses can be closed after it.
func ListenAndServe(addr string, h http.Handler, ready func(addr string)) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ready(lis.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	drained := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Serve returns as soon as Shutdown begins; wait for it.
	return <-drained
}
