package bearer_test

import (
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestClaimPathRules exercises nested claims as providers put them:
// Keycloak's realm_access.roles and resource_access.<client>.roles, an
// Auth0 namespaced (URL) claim, Entra's roles; every rule over HTTP.
func TestClaimPathRules(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	mux := http.NewServeMux()
	route := func(path string, rules ...bearer.Rule) {
		mux.Handle(path, m.Handler(bearer.Require(rules...)(whoami)))
	}
	route("/realm", bearer.Claim("realm_access", "roles").Includes("admin", "support"))
	route("/client", bearer.Claim("resource_access", "orders.api", "roles").Includes("writer"))
	route("/auth0", bearer.Claim("https://example.com/roles").Includes("ops"))
	route("/entra", bearer.ClaimIncludes("roles", "Orders.Read", "Orders.Write"))
	route("/tenant", bearer.Claim("org", "id").Equals("acme"))
	route("/verified", bearer.Claim("ext", "email", "verified").Equals(true))
	route("/zitadel", bearer.Claim("urn:zitadel:iam:org:project:roles", "admin").Exists())
	srv := serve(t, mux)

	rows := []struct {
		path   string
		claims bearertest.Claims
		ok     bool
	}{
		{"/realm", bearertest.Claims{"realm_access": map[string]any{"roles": []string{"user", "support"}}}, true},
		{"/realm", bearertest.Claims{"realm_access": map[string]any{"roles": []string{"admin"}}}, true},
		{"/realm", bearertest.Claims{"realm_access": map[string]any{"roles": []string{"user"}}}, false},
		{"/realm", bearertest.Claims{"roles": []string{"admin"}}, false},                                        // top level is not nested
		{"/realm", bearertest.Claims{"realm_access": []any{map[string]any{"roles": []string{"admin"}}}}, false}, // no indexing
		{"/realm", bearertest.Claims{"realm_access.roles": []string{"admin"}}, false},                           // a dot is not a separator
		{"/realm", bearertest.Claims{"realm_access": map[string]any{"Roles": []string{"admin"}}}, false},        // exact names
		{"/realm", bearertest.Claims{"realm_access": map[string]any{"roles": []any{"admin", 1}}}, false},
		{"/client", bearertest.Claims{"resource_access": map[string]any{"orders.api": map[string]any{"roles": []string{"writer"}}}}, true},
		{"/client", bearertest.Claims{"resource_access": map[string]any{"orders": map[string]any{"api": map[string]any{"roles": []string{"writer"}}}}}, false},
		{"/client", bearertest.Claims{"resource_access": map[string]any{"billing": map[string]any{"roles": []string{"writer"}}}}, false},
		{"/auth0", bearertest.Claims{"https://example.com/roles": []string{"ops"}}, true},
		{"/auth0", bearertest.Claims{"https://example.com/roles": "dev ops"}, true},
		{"/auth0", bearertest.Claims{"https://example.com": map[string]any{"roles": []string{"ops"}}}, false},
		{"/entra", bearertest.Claims{"roles": []string{"Orders.Write"}}, true},
		{"/entra", bearertest.Claims{"roles": []string{"Orders.Delete"}}, false},
		{"/tenant", bearertest.Claims{"org": map[string]any{"id": "acme"}}, true},
		{"/tenant", bearertest.Claims{"org": map[string]any{"id": "globex"}}, false},
		{"/tenant", bearertest.Claims{"org": "acme"}, false},
		{"/verified", bearertest.Claims{"ext": map[string]any{"email": map[string]any{"verified": true}}}, true},
		{"/verified", bearertest.Claims{"ext": map[string]any{"email": map[string]any{"verified": "true"}}}, false},
		{"/zitadel", bearertest.Claims{"urn:zitadel:iam:org:project:roles": map[string]any{"admin": map[string]any{"2190": "acme.zitadel.cloud"}}}, true},
		{"/zitadel", bearertest.Claims{"urn:zitadel:iam:org:project:roles": map[string]any{"admin": nil}}, false},
		{"/zitadel", bearertest.Claims{"urn:zitadel:iam:org:project:roles": map[string]any{"user": map[string]any{}}}, false},
		{"/zitadel", bearertest.Claims{"urn:zitadel:iam:org:project:roles": []string{"admin"}}, false},
	}
	for _, r := range rows {
		got := call(t, srv.URL+r.path, bearerHeader(iss.MustMint(r.claims)))
		if want := map[bool]int{true: 200, false: 403}[r.ok]; got.status != want {
			t.Errorf("%s %v: %d %s, want %d", r.path, r.claims, got.status, got.body, want)
		}
	}
}

func TestClaimPathIn(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	tok, err := m.Verify(t.Context(), iss.MustMint(bearertest.Claims{"realm_access": map[string]any{"roles": []string{"a"}}}))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := bearer.Claim("realm_access", "roles").In(tok)
	if roles, _ := v.([]any); !ok || len(roles) != 1 || roles[0] != "a" {
		t.Errorf("In: %v %v", v, ok)
	}
	if _, ok := bearer.Claim("realm_access", "groups").In(tok); ok {
		t.Error("a missing member was found")
	}
	if s := bearer.Claim("a.b", "c").String(); s != `["a.b","c"]` {
		t.Errorf("String: %s", s)
	}
}

func TestClaimPathPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"no name":  func() { bearer.Claim() },
		"no value": func() { bearer.Claim("roles").Includes() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
