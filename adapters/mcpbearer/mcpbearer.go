// Package mcpbearer protects MCP servers built with the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) with bearer tokens, as the MCP
// authorization specification asks of a server: an OAuth 2.0 resource
// server that publishes RFC 9728 metadata, answers 401 with a
// resource_metadata challenge, accepts only tokens issued for it (its
// audience) and answers 403 insufficient_scope for missing scopes. It
// adapts a *bearer.Middleware: verification, its options and its answers
// are the core's; this package only translates them to the SDK.
//
//	m, err := bearer.New(keys,
//		bearer.WithIssuer(iss),
//		bearer.WithAudience("https://mcp.example.com/mcp"), // the server's resource URL (RFC 8707)
//		bearer.WithResourceMetadata(bearer.ResourceMetadata{Resource: "https://mcp.example.com/mcp"}))
//	tools := mcpbearer.WithToolScopes(map[string][]string{"delete_file": {"files:write"}})
//	server.AddReceivingMiddleware(mcpbearer.ToolMiddleware(tools))
//	md, _ := url.Parse(m.ResourceMetadataURL()) // /.well-known/oauth-protected-resource/mcp
//	mux.Handle("GET "+md.Path, m.ResourceMetadataHandler())
//	mux.Handle("/mcp", mcpbearer.Handler(m, mcp.NewStreamableHTTPHandler(getServer, nil), tools))
//
// # The SDK's TokenInfo
//
// Handler fills the SDK's auth.TokenInfo from the verified token, as the
// SDK's own auth.RequireBearerToken would with a verifier: Scopes,
// Expiration, and a UserID made of the token's issuer and subject, so that
// the SDK's streamable transport keeps binding each session to the user
// who created it (a request with another user's token gets 403 "session
// user mismatch"). Tool handlers find the token in the request's
// Extra.TokenInfo with TokenFrom. Read it there, not with
// bearer.FromContext(ctx): the SDK runs a session's handlers in the
// context of the request that created the session, which holds that
// request's token, not the current one.
//
// # Tool scopes
//
// All tools are called through one endpoint, so the HTTP layer cannot see
// which tool a request calls without reading the JSON-RPC body. With
// WithToolScopes or WithToolRules, Handler reads the body of each POST
// (bounded by WithMaxBodySize), decodes it as the SDK does, and answers a
// tools/call whose token lacks the tool's scopes with the core's 403
// insufficient_scope and the scopes in the challenge, the MCP step-up
// answer; 401 when there is no token. ToolMiddleware checks the same rules
// inside the server, on what the SDK decoded: a second line that refuses
// the call with a JSON-RPC error should the HTTP check ever read a body
// differently.
package mcpbearer

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bearerauth/bearer"
	"github.com/modelcontextprotocol/go-sdk/auth"
)

// An Option configures Handler and ToolMiddleware.
type Option func(*config)

type config struct {
	tools   map[string][]bearer.Rule
	maxBody int64
}

// DefaultMaxBodySize bounds the body Handler reads to find a tool call: the
// go-sdk's own default (mcp.DefaultMaxRequestBodyBytes).
const DefaultMaxBodySize = 4 << 20

func newConfig(opts []Option) *config {
	c := &config{tools: map[string][]bearer.Rule{}, maxBody: DefaultMaxBodySize}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// WithMaxBodySize sets how many bytes of a POST body Handler reads, when
// tools have scopes or rules, to find the tools it calls; a longer body is
// answered 413. Set it to the StreamableHTTPOptions.MaxRequestBodyBytes of
// the SDK handler if that is not the default. It panics if n is not
// positive.
func WithMaxBodySize(n int64) Option {
	if n <= 0 {
		panic("mcpbearer: WithMaxBodySize needs a positive size")
	}
	return func(c *config) { c.maxBody = n }
}

// Handler returns next, the SDK's streamable HTTP handler, behind m: every
// request is admitted by m (its Mode, skip rules, DPoP and error handler
// apply), the SDK's TokenInfo is filled from the verified token, and tool
// calls are checked against WithToolScopes and WithToolRules. Mount it at
// the MCP endpoint, and m.ResourceMetadataHandler, outside it, at the path
// of m.ResourceMetadataURL (RFC 9728 §3.1: bearer.ResourceMetadataPath
// followed by the endpoint's path).
func Handler(m *bearer.Middleware, next http.Handler, opts ...Option) http.Handler {
	if m == nil {
		panic("mcpbearer: nil *bearer.Middleware")
	}
	h := &handler{m: m, next: next, config: newConfig(opts), authorized: http.Header{"Authorization": {"Bearer verified"}}}
	// auth.RequireBearerToken is the SDK's only way into its context key;
	// it calls tokenInfo, which answers from the verified token. The core
	// has checked exp, with its leeway: the SDK must not decide again.
	withInfo := auth.RequireBearerToken(tokenInfo, &auth.RequireBearerTokenOptions{
		AllowMissingExpiration: true,
		ClockSkew:              100 * 365 * 24 * time.Hour,
	})
	h.withInfo = withInfo(next)
	h.standInWithInfo = withInfo(http.HandlerFunc(h.restore))
	return m.Handler(h)
}

type handler struct {
	m    *bearer.Middleware
	next http.Handler
	*config
	// withInfo is next behind auth.RequireBearerToken, for requests whose
	// Authorization header it reads a token from.
	withInfo http.Handler
	// standInWithInfo is restore behind auth.RequireBearerToken, for the
	// others (a DPoP token, one from another extractor): it gets a
	// stand-in request whose header is authorized, never written.
	standInWithInfo http.Handler
	authorized      http.Header
}

// originalKey is the context key of the request that reached Handler,
// while auth.RequireBearerToken handles a stand-in.
type originalKey struct{}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.tools) > 0 && r.Method == http.MethodPost {
		var ok bool
		if r, ok = h.checkTools(w, r); !ok {
			return
		}
	}
	switch {
	case !hasToken(r):
		h.next.ServeHTTP(w, r) // anonymous, as the Mode allowed, or skipped
	case sdkReadsToken(r.Header):
		h.withInfo.ServeHTTP(w, r)
	default:
		standIn := r.WithContext(context.WithValue(r.Context(), originalKey{}, r))
		standIn.Header = h.authorized
		h.standInWithInfo.ServeHTTP(w, standIn)
	}
}

func hasToken(r *http.Request) bool {
	_, ok := bearer.FromContext(r.Context())
	return ok
}

// sdkReadsToken reports whether auth.RequireBearerToken finds a bearer
// token in h: one Authorization value, "Bearer" (any case) and one more
// field.
func sdkReadsToken(h http.Header) bool {
	v := h["Authorization"]
	if len(v) == 0 || len(v[0]) < len("Bearer ") || !strings.EqualFold(v[0][:len("Bearer ")], "Bearer ") {
		return false
	}
	token := strings.TrimSpace(v[0][len("Bearer "):])
	return token != "" && !strings.ContainsFunc(token, unicode.IsSpace)
}

// restore passes the original request on with the context
// auth.RequireBearerToken made, which holds the TokenInfo.
func (h *handler) restore(w http.ResponseWriter, standIn *http.Request) {
	ctx := standIn.Context()
	h.next.ServeHTTP(w, ctx.Value(originalKey{}).(*http.Request).WithContext(ctx))
}

// tokenInfo is the auth.TokenVerifier of Handler: the token was verified
// by the core before; it only translates.
func tokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	t, _ := bearer.FromContext(ctx) // Handler calls it only with a token
	return TokenInfo(t), nil
}

// tokenKey is the key of the *bearer.Token in TokenInfo.Extra.
const tokenKey = "github.com/bearerauth/bearer.Token"

// TokenInfo returns the SDK's TokenInfo for t: its scopes, its expiry (zero
// without exp) and, as UserID, its issuer and subject, both quoted, so
// that subjects of different issuers never share a session. Extra holds t
// for TokenFrom.
func TokenInfo(t *bearer.Token) *auth.TokenInfo {
	return &auth.TokenInfo{
		Scopes:     t.Scopes(),
		Expiration: t.Expiry(),
		UserID:     userID(t),
		Extra:      map[string]any{tokenKey: t},
	}
}

// userID quotes both names, so that no issuer and subject can spell
// another pair's ID.
func userID(t *bearer.Token) string {
	var buf [128]byte // most IDs fit: one allocation, the string
	b := strconv.AppendQuote(buf[:0], t.Issuer())
	b = append(b, ' ')
	return string(strconv.AppendQuote(b, t.Subject()))
}

// TokenFrom returns the verified token behind info, the
// req.Extra.TokenInfo of a tool handler's request.
func TokenFrom(info *auth.TokenInfo) (*bearer.Token, bool) {
	if info == nil {
		return nil, false
	}
	t, ok := info.Extra[tokenKey].(*bearer.Token)
	return t, ok
}
