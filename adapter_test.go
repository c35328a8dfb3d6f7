package bearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/internal/answertest"
)

// The suite every adapter runs holds for the net/http middleware, the
// reference.
func TestHandlerAnswers(t *testing.T) {
	answertest.Run(t, func(m *bearer.Middleware) http.Handler {
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok, ok := bearer.FromContext(r.Context()); ok {
				w.Write([]byte(tok.Subject()))
				return
			}
			w.Write([]byte("anonymous"))
		})
		mux := http.NewServeMux()
		mux.Handle("/", hello)
		mux.Handle("/read", bearer.RequireScopes("read")(hello))
		mux.Handle("/admin/", bearer.RequireScopes("admin", "audit")(hello))
		mux.Handle("/bob", bearer.Require(bearer.ClaimEquals("sub", "bob"))(hello))
		return m.Handler(mux)
	})
}

// AdmitHeader gives the answers of the table for header values that
// come from somewhere other than an *http.Request.
func TestAdmitHeader(t *testing.T) {
	f := answertest.New(t)
	m := f.Middleware
	for _, c := range f.Cases(t) {
		ctx, err := m.AdmitHeader(t.Context(), c.Authorization)
		var e *bearer.Error
		if ctx != nil || !errors.As(err, &e) {
			t.Errorf("%s: got %v, %v; want an *Error", c.Name, ctx, err)
			continue
		}
		if e.Status != c.Status || e.Description != c.Description || !errors.Is(err, c.Cause) || challengeOf(m, err) != c.Challenge {
			t.Errorf("%s: got %d %q %q (%v), want %d %q %q (%v)", c.Name,
				e.Status, e.Description, challengeOf(m, err), err, c.Status, c.Description, c.Challenge, c.Cause)
		}
	}
	ctx, err := m.AdmitHeader(t.Context(), []string{"bearer  " + f.Token(t, "read")})
	if err != nil {
		t.Fatal(err)
	}
	if tok, ok := bearer.FromContext(ctx); !ok || tok.Subject() != "alice" || bearer.MiddlewareFrom(ctx) != m {
		t.Errorf("valid token: got %v %v, middleware %p", tok, ok, bearer.MiddlewareFrom(ctx))
	}
}

// Under CredentialsOptional a request without a token is admitted, and
// a scope check on it answers 401 with the middleware's realm.
func TestAuthenticateOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithMode(bearer.CredentialsOptional))
	m := f.Middleware
	req, err := m.Admit(httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := req.Context()
	if _, ok := bearer.FromContext(ctx); ok || bearer.MiddlewareFrom(ctx) != m {
		t.Fatalf("no token: got a token %v or middleware %p", ok, bearer.MiddlewareFrom(ctx))
	}
	err = bearer.Authorize(ctx, bearer.AllScopes("read"))
	if !errors.Is(err, bearer.ErrNoToken) || challengeOf(bearer.MiddlewareFrom(ctx), err) != `Bearer realm="api"` {
		t.Errorf("scope check: %v, challenge %q", err, challengeOf(bearer.MiddlewareFrom(ctx), err))
	}
	if _, err := m.AdmitHeader(t.Context(), nil); err != nil {
		t.Errorf("AdmitHeader without a token: %v", err)
	}
	if _, err := m.AdmitHeader(t.Context(), []string{"Bearer not-a-jwt"}); !errors.Is(err, bearer.ErrMalformed) {
		t.Errorf("bad token under CredentialsOptional: %v, want ErrMalformed", err)
	}
	if m := bearer.MiddlewareFrom(t.Context()); m != nil {
		t.Errorf("MiddlewareFrom of a bare context: %p", m)
	}
}

func TestHandleError(t *testing.T) {
	var handled error
	f := answertest.New(t, bearer.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		handled = err
		w.WriteHeader(http.StatusTeapot)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	_, err := f.Middleware.Admit(req)

	rec := httptest.NewRecorder()
	f.Middleware.HandleError(rec, req, err)
	if rec.Code != http.StatusTeapot || !errors.Is(handled, bearer.ErrNoToken) {
		t.Errorf("custom handler: got %d, %v", rec.Code, handled)
	}

	rec = httptest.NewRecorder()
	(*bearer.Middleware)(nil).HandleError(rec, req, err)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("nil middleware: got %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestSetErrorHeaders(t *testing.T) {
	down := answertest.KeysUnavailable(t)
	_, err := down.Middleware.Verify(t.Context(), down.Token(t, ""))
	h := http.Header{}
	down.Middleware.SetErrorHeaders(h, nil, err)
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if !errors.Is(err, bearer.ErrKeysUnavailable) || h.Get("WWW-Authenticate") != "" || !answertest.FreshRetryAfter(time.Duration(retry)*time.Second) ||
		h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "" {
		t.Errorf("503 (%v) headers: %v", err, h)
	}
	f := answertest.New(t)
	h = http.Header{}
	err = bearer.Authorize(bearer.NewContext(t.Context(), mustVerify(t, f, "read")), bearer.AllScopes("read", "write"))
	f.Middleware.SetErrorHeaders(h, nil, err)
	if h.Get("WWW-Authenticate") != answertest.ScopeChallenge("read write") || h.Get("Retry-After") != "" {
		t.Errorf("403 headers: %v", h)
	}
}

func mustVerify(t *testing.T, f *answertest.Fixture, scopes string) *bearer.Token {
	t.Helper()
	tok, err := f.Middleware.Verify(t.Context(), f.Token(t, scopes))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// An *Error encodes as the body of its answer, and never with its cause.
func TestErrorMarshalJSON(t *testing.T) {
	f := answertest.New(t)
	err := bearer.Authorize(bearer.NewContext(t.Context(), mustVerify(t, f, "")), bearer.AllScopes("a", "b"))
	b, jerr := json.Marshal(err)
	if jerr != nil || string(b) != answertest.NoScope("a b").Body {
		t.Errorf("403: got %s, %v", b, jerr)
	}
	secret := &bearer.Error{Code: bearer.CodeInvalidToken, Description: "token rejected", Status: 401,
		Err: errors.New("db at 10.1.2.3: password=hunter2")}
	b, _ = json.Marshal(secret)
	if string(b) != `{"error":"invalid_token","error_description":"token rejected"}` || secret.StatusCode() != 401 {
		t.Errorf("got %s, status %d", b, secret.StatusCode())
	}
	_, err = f.Middleware.AdmitHeader(context.Background(), nil)
	if b, _ = json.Marshal(err); string(b) != answertest.NoToken.Body {
		t.Errorf("no token: got %s", b)
	}
}

// Modes apply to AdmitHeader as to Admit; DPoP, which needs an HTTP
// request to prove, does not, so a middleware that requires it refuses
// every call there.
func TestAdmitHeaderModes(t *testing.T) {
	f := answertest.New(t, bearer.WithMode(bearer.AllowFailed))
	ctx, err := f.Middleware.AdmitHeader(t.Context(), []string{"Bearer not-a-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	if why, ok := bearer.ErrorFrom(ctx); !ok || !errors.Is(why, bearer.ErrMalformed) || bearer.MiddlewareFrom(ctx) != f.Middleware {
		t.Errorf("AllowFailed: got %v %v", why, ok)
	}

	f = answertest.New(t, bearer.WithDPoP(bearer.DPoP{Required: true}))
	if _, err := f.Middleware.AdmitHeader(t.Context(), []string{"Bearer " + f.Token(t, "")}); !errors.Is(err, bearer.ErrDPoPRequired) {
		t.Errorf("DPoP required: got %v", err)
	}
	f = answertest.New(t, bearer.WithDPoP(bearer.DPoP{}))
	if _, err := f.Middleware.AdmitHeader(t.Context(), []string{"Bearer " + f.Token(t, "")}); err != nil {
		t.Errorf("DPoP allowed, plain bearer token: %v", err)
	}
}
