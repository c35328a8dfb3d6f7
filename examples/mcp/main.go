// Command mcp is an MCP server (github.com/modelcontextprotocol/go-sdk)
// protected by mcpbearer, as the MCP authorization specification asks: it
// publishes its RFC 9728 metadata, accepts only tokens issued for its own
// URL (the audience), and has one tool anyone with a token may call,
// "whoami", and one that needs the "admin" scope, "reset". Tokens come
// from an in-process test issuer; on start it prints two, and the curl
// commands that show the answers.
//
//	go run ./mcp
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/mcpbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "listen address")
	flag.Parse()

	resource := "http://" + *addr + "/mcp"
	issuer, err := bearertest.NewIssuer(bearertest.ES256, bearertest.WithAudience(resource))
	if err != nil {
		log.Fatal(err)
	}
	auth, h, err := newServer(issuer, resource)
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	// The resource, and so the audience, is the URL clients use: -addr.
	err = demo.ListenAndServe(*addr, h, func(string) {
		printHelp(os.Stdout, resource, auth.ResourceMetadataURL(), issuer)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// toolScopes are the scopes each tool needs; whoami, not listed, needs a
// valid token only.
var toolScopes = mcpbearer.WithToolScopes(map[string][]string{"reset": {"admin"}})

// newServer returns the middleware, which trusts issuer's tokens for
// resource (the server's URL, RFC 8707), and the server's handler: the
// metadata document and the MCP endpoint. Close the middleware when done.
func newServer(issuer *bearertest.Issuer, resource string) (*bearer.Middleware, http.Handler, error) {
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(resource),
		bearer.WithResourceMetadata(bearer.ResourceMetadata{
			Resource:        resource,
			ScopesSupported: []string{"admin"},
			ResourceName:    "bearer MCP example",
		}))
	if err != nil {
		return nil, nil, err
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "bearer-example", Version: "v1.0.0"}, nil)
	// The tool scopes again, inside the server: a second check on what the
	// SDK decoded.
	server.AddReceivingMiddleware(mcpbearer.ToolMiddleware(toolScopes))
	var resets atomic.Int64
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Who the token says you are"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			tok, _ := mcpbearer.TokenFrom(req.Extra.TokenInfo)
			return text(fmt.Sprintf("%s, scopes %v", tok.Subject(), tok.Scopes())), nil, nil
		})
	mcp.AddTool(server, &mcp.Tool{Name: "reset", Description: "Reset the counter (admin scope)"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			tok, _ := mcpbearer.TokenFrom(req.Extra.TokenInfo)
			return text(fmt.Sprintf("reset %d by %s", resets.Add(1), tok.Subject())), nil, nil
		})

	mux := http.NewServeMux()
	metadata, err := url.Parse(auth.ResourceMetadataURL())
	if err != nil {
		auth.Close()
		return nil, nil, err
	}
	mux.Handle("GET "+metadata.Path, auth.ResourceMetadataHandler())
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	mux.Handle("/mcp", mcpbearer.Handler(auth, streamable, toolScopes))
	return auth, mux, nil
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// printHelp prints the tokens and commands to try the server.
func printHelp(w io.Writer, resource, metadata string, issuer *bearertest.Issuer) {
	admin, user := demo.Tokens(issuer)
	fmt.Fprintf(w, `MCP example at %[1]s (streamable HTTP)

Tokens, valid for an hour:
  ADMIN=%[3]s
  MEMBER=%[4]s

Try:
  curl -s %[2]s
  curl -si -X POST %[1]s                                      # 401, resource_metadata challenge
  curl -si -X POST %[1]s -H "Authorization: Bearer $MEMBER" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"reset"}}'   # 403, scope="admin"
or connect an MCP client (MCP Inspector: npx @modelcontextprotocol/inspector) to %[1]s
with the header "Authorization: Bearer $ADMIN" or "... $MEMBER".

Ctrl-C stops it.
`, resource, metadata, admin, user)
}
