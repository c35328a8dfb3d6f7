package mcpbearer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/bearerauth/bearer"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/segmentio/encoding/json"
)

// methodCallTool is the JSON-RPC method that calls a tool.
const methodCallTool = "tools/call"

// WithToolScopes sets the scopes each tool needs, by tool name: a call of
// the tool needs a token with all of them. It is WithToolRules with
// bearer.AllScopes for each tool. It panics if a scope is not a valid
// scope-token.
func WithToolScopes(scopes map[string][]string) Option {
	rules := make(map[string][]bearer.Rule, len(scopes))
	for tool, s := range scopes {
		rules[tool] = []bearer.Rule{bearer.AllScopes(s...)}
	}
	return WithToolRules(rules)
}

// WithToolRules sets the rules a token must satisfy to call each tool (see
// bearer.Require), by tool name. A tool listed, even with no rules, needs a
// token under bearer.WithMode(bearer.CredentialsOptional), which otherwise lets
// requests without one through: that is how a server mixes public and
// private tools. It panics if a name is empty.
func WithToolRules(rules map[string][]bearer.Rule) Option {
	copied := make(map[string][]bearer.Rule, len(rules))
	for tool, r := range rules {
		if tool == "" {
			panic("mcpbearer: empty tool name")
		}
		copied[tool] = slices.Clone(r)
	}
	return func(c *config) {
		for tool, r := range copied {
			c.tools[tool] = append(c.tools[tool], r...)
		}
	}
}

// checkTools answers r, a POST, if it calls a tool its token may not
// call, and returns it with its body restored otherwise.
func (h *handler) checkTools(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return r, false
	}
	if int64(len(body)) > h.maxBody {
		// Not passed on cut: the rest could call a tool.
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return r, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	for _, tool := range toolsCalled(body) {
		if rules, listed := h.tools[tool]; listed {
			if err := bearer.Authorize(r.Context(), rules...); err != nil {
				h.m.HandleError(w, r, err)
				return r, false
			}
		}
	}
	return r, true
}

// toolsCalled returns the names of the tools body calls, read as the SDK
// reads a POST body (mcp's readBatch): a JSON array of messages, else one
// message, each decoded by jsonrpc.DecodeMessage, the params of a
// tools/call by its case-sensitive decoder. What the SDK cannot decode it
// refuses, and calls no tool.
func toolsCalled(body []byte) []string {
	var batch []json.RawMessage
	if decode(body, &batch) != nil {
		batch = []json.RawMessage{body}
	}
	var tools []string
	for _, raw := range batch {
		msg, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			continue
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.Method != methodCallTool {
			continue
		}
		var params mcp.CallToolParamsRaw
		if decode(req.Params, &params) == nil {
			tools = append(tools, params.Name)
		}
	}
	return tools
}

// decode is the SDK's internal json.Unmarshal: segmentio's decoder, field
// names matched case-sensitively, the first value read and the rest
// ignored. Any other reading could see another tool name than the SDK.
func decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DontMatchCaseInsensitiveStructFields()
	return d.Decode(v)
}

// ToolMiddleware returns SDK middleware, for Server.AddReceivingMiddleware,
// that refuses a tools/call whose token (in the request's TokenInfo, from
// Handler) does not satisfy the tool's rules of WithToolScopes and
// WithToolRules. It checks what the SDK decoded, behind Handler's HTTP
// check: a call it refuses gets a JSON-RPC error with the answer's fixed
// description.
func ToolMiddleware(opts ...Option) mcp.Middleware {
	c := newConfig(opts)
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == methodCallTool {
				if err := c.authorizeCall(req); err != nil {
					return nil, err
				}
			}
			return next(ctx, method, req)
		}
	}
}

// ErrToolRefused is the error a tool call refused by ToolMiddleware
// matches with errors.Is; the *bearer.Error it also matches says why.
var ErrToolRefused = errors.New("mcpbearer: tool call refused")

// authorizeCall applies the rules of the tool req calls to its token.
func (c *config) authorizeCall(req mcp.Request) error {
	params, ok := req.GetParams().(*mcp.CallToolParamsRaw)
	if !ok {
		return nil
	}
	rules, listed := c.tools[params.Name]
	if !listed {
		return nil
	}
	// Only the request's own token counts, not one in the handler's
	// context: that may be the token of the request that created the
	// session.
	ctx := context.Background()
	if extra := req.GetExtra(); extra != nil {
		if t, ok := TokenFrom(extra.TokenInfo); ok {
			ctx = bearer.NewContext(ctx, t)
		}
	}
	if err := bearer.Authorize(ctx, rules...); err != nil {
		var e *bearer.Error
		errors.As(err, &e)
		return &refusal{wire: &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: e.Description}, err: e}
	}
	return nil
}

// refusal is the JSON-RPC error of a refused call, wrapping the core's.
// Its text, which the SDK sends, holds the answer's fixed description,
// never the cause.
type refusal struct {
	wire *jsonrpc.Error
	err  *bearer.Error
}

func (r *refusal) Error() string { return "tool call refused: " + r.err.Description }

// Unwrap lets errors.Is find ErrToolRefused, the *bearer.Error and the
// *jsonrpc.Error, which the SDK sends.
func (r *refusal) Unwrap() []error { return []error{ErrToolRefused, r.wire, r.err} }
