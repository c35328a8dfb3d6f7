package bearer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// The recipes of docs/recipes.md, each against tokens and a JWKS document
// shaped as that provider issues and serves them, over a real bearertest
// server. Claims and headers follow what each provider documents and
// sends; the values are made up.

// newProvider starts a real (TCP) provider whose tokens carry iss.
func newProvider(t *testing.T, iss string) *bearertest.Server {
	t.Helper()
	srv := bearertest.NewServer(bearertest.RS256, bearertest.WithIssuer(iss))
	t.Cleanup(srv.Close)
	return srv
}

// jwkMembers is one key of a served JWKS document.
type jwkMembers map[string]any

// publishedKey returns the provider's current public key as a JWK, with
// the members set ("x5c", "x5t" and "x5t#S256" from a certificate of the
// key when asked for by a nil value) and removed (nil when absent from
// what the provider serves).
func publishedKey(t *testing.T, srv *bearertest.Server, set jwkMembers, remove ...string) jwkMembers {
	t.Helper()
	var doc struct{ Keys []jwkMembers }
	if err := json.Unmarshal(srv.JWKS(), &doc); err != nil || len(doc.Keys) != 1 {
		t.Fatalf("JWKS: %v", err)
	}
	k := doc.Keys[0]
	for _, name := range remove {
		delete(k, name)
	}
	cert := certificate(t, srv.PrivateKey().(crypto.Signer))
	for name, v := range set {
		switch {
		case name == "x5c" && v == nil:
			v = []string{base64.StdEncoding.EncodeToString(cert)}
		case name == "x5t" && v == nil:
			sum := sha1.Sum(cert)
			v = base64.RawURLEncoding.EncodeToString(sum[:])
		case name == "x5t#S256" && v == nil:
			sum := sha256.Sum256(cert)
			v = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		k[name] = v
	}
	return k
}

// certificate returns a self-signed certificate of key, as providers put
// in x5c.
func certificate(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "provider"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// serveKeys makes the provider serve keys as its JWKS document.
func serveKeys(t *testing.T, srv *bearertest.Server, keys ...jwkMembers) {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	srv.Keys.Serve(doc)
}

// recipe returns a ready middleware for the provider's JWKS.
func recipe(t *testing.T, srv *bearertest.Server, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	m := newMiddleware(t, bearer.RemoteJWKS(srv.JWKSURL), append([]bearer.Option{quiet}, opts...)...)
	mustReady(t, m)
	return m
}

// mint signs claims exactly: no defaults but exp and iat.
func mint(t *testing.T, srv *bearertest.Server, header map[string]any, claims bearertest.Claims) string {
	t.Helper()
	now := time.Now()
	all := bearertest.Claims{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iss": nil, "aud": nil}
	for k, v := range claims {
		all[k] = v
	}
	tok, err := srv.MintWithHeader(header, all)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// status sends token through rules in front of a handler and returns the
// answer's status.
func status(m *bearer.Middleware, token string, rules ...bearer.Rule) int {
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	m.Handler(bearer.Require(rules...)(whoami)).ServeHTTP(rec, req)
	return rec.Code
}

func wantCode(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %d, want %d", what, got, want)
	}
}

func TestRecipeAuth0(t *testing.T) {
	const iss = "https://dev-abc123.us.auth0.com/" // trailing slash
	srv := newProvider(t, iss)
	serveKeys(t, srv, publishedKey(t, srv, jwkMembers{"x5c": nil, "x5t": nil}))
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("https://api.example.com"),
		bearer.WithScopeClaim("permissions"))
	user := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{
		"iss": iss, "sub": "auth0|64f1c2", "azp": "Xk2cLq8",
		"aud":                       []string{"https://api.example.com", iss + "userinfo"},
		"scope":                     "openid profile email",
		"permissions":               []string{"read:orders", "write:orders"},
		"https://example.com/roles": []string{"admin"},
	})
	wantCode(t, "user token", status(m, user, bearer.AllScopes("read:orders"), bearer.Claim("https://example.com/roles").Includes("admin")), 200)
	wantCode(t, "missing permission", status(m, user, bearer.AllScopes("delete:orders")), 403)
	machine := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{
		"iss": iss, "sub": "Xk2cLq8@clients", "aud": "https://api.example.com", "azp": "Xk2cLq8",
		"gty": "client-credentials", "scope": "read:orders", "permissions": []string{"read:orders"},
	})
	wantCode(t, "client credentials", status(m, machine, bearer.AllScopes("read:orders")), 200)
	wantCode(t, "no trailing slash", status(m, mint(t, srv, nil, bearertest.Claims{"iss": "https://dev-abc123.us.auth0.com", "aud": "https://api.example.com"})), 401)
	idToken := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{"iss": iss, "sub": "auth0|64f1c2", "aud": "Xk2cLq8", "nonce": "n-1", "sid": "s"})
	wantCode(t, "ID token", status(m, idToken), 401)

	// With the RFC 9068 profile switched on for the API, typ is at+jwt.
	profile := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("https://api.example.com"), bearer.WithAccessTokenProfile())
	at := mint(t, srv, map[string]any{"typ": "at+jwt"}, bearertest.Claims{"iss": iss, "sub": "auth0|64f1c2", "aud": "https://api.example.com", "client_id": "Xk2cLq8", "jti": "j1", "scope": "read:orders"})
	wantCode(t, "at+jwt under the profile", status(profile, at), 200)
	wantCode(t, "JWT under the profile", status(profile, user), 401)
}

func TestRecipeOkta(t *testing.T) {
	const iss = "https://dev-123456.okta.com/oauth2/default" // custom authorization server, no slash
	srv := newProvider(t, iss)
	serveKeys(t, srv, publishedKey(t, srv, nil))
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("api://default"))
	tok := mint(t, srv, map[string]any{"typ": nil}, bearertest.Claims{
		"ver": 1, "jti": "AT.u1c2-xyz", "iss": iss, "aud": "api://default",
		"cid": "0oa1b2c3d4", "uid": "00u1a2b3c4", "sub": "alice@example.com", "auth_time": time.Now().Unix(),
		"scp": []string{"openid", "orders:read"}, "groups": []string{"Everyone", "Admins"},
	})
	wantCode(t, "access token", status(m, tok, bearer.AllScopes("orders:read"), bearer.ClaimIncludes("groups", "Admins")), 200)
	wantCode(t, "missing scope", status(m, tok, bearer.AllScopes("orders:write")), 403)
	orgServer := mint(t, srv, map[string]any{"typ": nil}, bearertest.Claims{"iss": "https://dev-123456.okta.com", "aud": "https://dev-123456.okta.com", "scp": []string{"openid"}})
	wantCode(t, "org authorization server token", status(m, orgServer), 401)
}

func TestRecipeKeycloak(t *testing.T) {
	const iss = "https://sso.example.com/realms/acme" // no slash; before Keycloak 17: /auth/realms/acme
	srv := newProvider(t, iss)
	enc, _ := rsa.GenerateKey(rand.Reader, 2048)
	encKey := jwkMembers{"kid": "enc-1", "kty": "RSA", "alg": "RSA-OAEP", "use": "enc",
		"n": base64.RawURLEncoding.EncodeToString(enc.N.Bytes()), "e": "AQAB"}
	// Keycloak serves its encryption key beside the signing key, and
	// x5c, x5t and x5t#S256 on each.
	serveKeys(t, srv, encKey, publishedKey(t, srv, jwkMembers{"x5c": nil, "x5t": nil, "x5t#S256": nil}))
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("orders-api"), bearer.WithoutIDTokens())
	claims := bearertest.Claims{
		"iss": iss, "sub": "f3a8c1e2", "typ": "Bearer", "azp": "web", "sid": "s1", "jti": "onrtac:1",
		"aud":             []string{"orders-api", "account"},
		"scope":           "openid profile email",
		"realm_access":    map[string]any{"roles": []string{"default-roles-acme", "offline_access", "support"}},
		"resource_access": map[string]any{"orders-api": map[string]any{"roles": []string{"writer"}}, "account": map[string]any{"roles": []string{"manage-account"}}},
	}
	tok := mint(t, srv, map[string]any{"typ": "JWT"}, claims)
	wantCode(t, "realm role", status(m, tok, bearer.Claim("realm_access", "roles").Includes("admin", "support")), 200)
	wantCode(t, "client role", status(m, tok, bearer.Claim("resource_access", "orders-api", "roles").Includes("writer")), 200)
	wantCode(t, "another client's role", status(m, tok, bearer.Claim("resource_access", "orders-api", "roles").Includes("manage-account")), 403)
	claims["aud"] = "account" // no audience mapper for the API
	wantCode(t, "aud account only", status(m, mint(t, srv, map[string]any{"typ": "JWT"}, claims)), 401)
	idToken := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{"iss": iss, "sub": "f3a8c1e2", "typ": "ID", "aud": "orders-api", "azp": "orders-api", "at_hash": "x"})
	wantCode(t, "ID token", status(m, idToken), 401)
}

func TestRecipeEntraID(t *testing.T) {
	const (
		tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		clientID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
		v2       = "https://login.microsoftonline.com/" + tenant + "/v2.0"
		v1       = "https://sts.windows.net/" + tenant + "/" // trailing slash
	)
	srv := newProvider(t, v2)
	// Entra's keys: no alg, kid equal to x5t, x5c, and an issuer member
	// holding the {tenantid} template.
	key := publishedKey(t, srv, jwkMembers{"x5c": nil, "x5t": nil, "cloud_instance_name": "microsoftonline.com",
		"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}, "alg")
	kid := key["x5t"].(string)
	key["kid"] = kid
	serveKeys(t, srv, key)
	m := recipe(t, srv, bearer.WithIssuer(v2, v1), bearer.WithAudience(clientID, "api://orders"), bearer.WithoutIDTokens())
	header := map[string]any{"typ": "JWT", "kid": kid, "x5t": kid}

	delegatedV2 := mint(t, srv, header, bearertest.Claims{"iss": v2, "aud": clientID, "ver": "2.0", "tid": tenant,
		"oid": "0a1b", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "azp": "d3b6", "azpacr": "0", "scp": "Orders.Read User.Read"})
	wantCode(t, "v2 delegated", status(m, delegatedV2, bearer.AllScopes("Orders.Read")), 200)
	delegatedV1 := mint(t, srv, header, bearertest.Claims{"iss": v1, "aud": "api://orders", "ver": "1.0", "tid": tenant,
		"appid": "d3b6", "sub": "x", "scp": "Orders.Read"})
	wantCode(t, "v1 delegated", status(m, delegatedV1, bearer.AllScopes("Orders.Read")), 200)
	appOnly := mint(t, srv, header, bearertest.Claims{"iss": v2, "aud": clientID, "ver": "2.0", "tid": tenant,
		"sub": "0a1b", "oid": "0a1b", "azp": "d3b6", "roles": []string{"Orders.Read.All"}})
	wantCode(t, "app-only roles", status(m, appOnly, bearer.ClaimIncludes("roles", "Orders.Read.All", "Orders.Write.All")), 200)
	wantCode(t, "app-only without scp", status(m, appOnly, bearer.AllScopes("Orders.Read")), 403)
	otherTenant := mint(t, srv, header, bearertest.Claims{"iss": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0", "aud": clientID, "scp": "Orders.Read"})
	wantCode(t, "another tenant", status(m, otherTenant), 401)
	// One app registration for the SPA and the API: its ID tokens name the
	// same audience; WithoutIDTokens tells them apart.
	idToken := mint(t, srv, header, bearertest.Claims{"iss": v2, "aud": clientID, "ver": "2.0", "tid": tenant, "sub": "x", "nonce": "n", "oid": "0a1b"})
	wantCode(t, "ID token", status(m, idToken), 401)

	// The multi-tenant discovery document names the {tenantid} template
	// as its issuer: Discover refuses it; use the tenant's own.
	doc, _ := json.Marshal(map[string]any{"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "jwks_uri": srv.JWKSURL})
	srv.Discovery.Serve(doc)
	d := newMiddleware(t, bearer.Discover(srv.URL), quiet, bearer.WithAudience(clientID))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := d.Ready(ctx); !errors.Is(err, bearer.ErrIssuerMismatch) {
		t.Errorf("Discover of a templated issuer: %v", err)
	}
}

func TestRecipeCognito(t *testing.T) {
	const (
		iss    = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123" // no slash
		client = "7f3kq1d8hj2l5mrt9nb0c4sa6e"
	)
	srv := newProvider(t, iss)
	serveKeys(t, srv, publishedKey(t, srv, nil))
	// Access tokens carry no aud: the client is checked instead.
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithoutAudienceCheck(), bearer.WithoutIDTokens(),
		bearer.WithValidator(func(_ context.Context, t *bearer.Token) error {
			if id, _ := t.Claim("client_id"); id != client {
				return fmt.Errorf("client %v", id)
			}
			return nil
		}))
	access := mint(t, srv, map[string]any{"typ": nil}, bearertest.Claims{
		"iss": iss, "sub": "8a4b1c2d", "client_id": client, "token_use": "access", "version": 2,
		"scope": "orders/read aws.cognito.signin.user.admin", "cognito:groups": []string{"admins"},
		"username": "alice", "jti": "b1", "origin_jti": "o1", "event_id": "e1", "auth_time": time.Now().Unix(),
	})
	wantCode(t, "access token", status(m, access, bearer.AllScopes("orders/read"), bearer.ClaimIncludes("cognito:groups", "admins")), 200)
	otherClient := mint(t, srv, map[string]any{"typ": nil}, bearertest.Claims{"iss": iss, "sub": "x", "client_id": "another", "token_use": "access"})
	wantCode(t, "another app client", status(m, otherClient), 401)
	idToken := mint(t, srv, map[string]any{"typ": nil}, bearertest.Claims{"iss": iss, "sub": "8a4b1c2d", "aud": client, "client_id": client, "token_use": "id", "email": "a@example.com"})
	wantCode(t, "ID token", status(m, idToken), 401)
}

func TestRecipeGoogle(t *testing.T) {
	const client = "1234567890-abc123def456.apps.googleusercontent.com"
	srv := newProvider(t, "https://accounts.google.com")
	serveKeys(t, srv, publishedKey(t, srv, nil))
	// Google's ID tokens name either spelling of the issuer.
	m := recipe(t, srv, bearer.WithIssuer("https://accounts.google.com", "accounts.google.com"), bearer.WithAudience(client))
	for _, iss := range []string{"https://accounts.google.com", "accounts.google.com"} {
		tok := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{"iss": iss, "azp": client, "aud": client,
			"sub": "110169484474386276334", "email": "alice@example.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q"})
		wantCode(t, "ID token from "+iss, status(m, tok, bearer.ClaimEquals("email_verified", true)), 200)
	}
	// Service to service (Cloud Run, IAM): the audience is the callee's URL.
	s2s := recipe(t, srv, bearer.WithIssuer("https://accounts.google.com"), bearer.WithAudience("https://orders-abc123-ew.a.run.app"))
	tok := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{"iss": "https://accounts.google.com", "aud": "https://orders-abc123-ew.a.run.app",
		"azp": "1155", "sub": "1155", "email": "caller@project.iam.gserviceaccount.com", "email_verified": true})
	wantCode(t, "service account ID token", status(s2s, tok, bearer.ClaimEquals("email", "caller@project.iam.gserviceaccount.com")), 200)
}

func TestRecipeHydra(t *testing.T) {
	const iss = "https://auth.example.com/" // urls.self.issuer, with the slash Hydra adds
	srv := newProvider(t, iss)
	serveKeys(t, srv, publishedKey(t, srv, jwkMembers{"kid": "public:hydra.jwt.access-token"}))
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("https://api.example.com"))
	header := map[string]any{"typ": "JWT", "kid": "public:hydra.jwt.access-token"}
	claims := func(aud any) bearertest.Claims {
		return bearertest.Claims{"iss": iss, "aud": aud, "client_id": "web", "sub": "alice", "jti": "0b1c",
			"nbf": time.Now().Unix(), "scp": []string{"orders.read", "offline"}, "ext": map[string]any{"roles": []string{"admin"}}}
	}
	tok := mint(t, srv, header, claims([]string{"https://api.example.com"}))
	wantCode(t, "JWT access token", status(m, tok, bearer.AllScopes("orders.read"), bearer.Claim("ext", "roles").Includes("admin")), 200)
	wantCode(t, "aud [] (no audience requested)", status(m, mint(t, srv, header, claims([]string{}))), 401)
	profile := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience("https://api.example.com"), bearer.WithAccessTokenProfile())
	wantCode(t, "typ JWT under the profile", status(profile, tok), 401)

	// Opaque tokens (Hydra's default) through the admin introspection endpoint.
	intro := newMiddleware(t, bearer.Introspection(srv.IntrospectionURL), bearer.WithIssuer(iss), bearer.WithAudience("https://api.example.com"))
	opaque := srv.MintOpaque(bearertest.Claims{"iss": iss, "aud": []string{"https://api.example.com"}, "client_id": "web", "sub": "alice",
		"scope": "orders.read offline", "token_type": "Bearer", "token_use": "access_token", "ext": map[string]any{"roles": []string{"admin"}}})
	wantCode(t, "opaque token", status(intro, "ory_at_"+opaque[3:]), 401) // not one Hydra issued
	wantCode(t, "opaque token", status(intro, opaque, bearer.AllScopes("orders.read"), bearer.Claim("ext", "roles").Includes("admin")), 200)
}

func TestRecipeZitadel(t *testing.T) {
	const (
		iss     = "https://acme-x1y2z3.zitadel.cloud" // no slash
		project = "231849390121245187"
		client  = "231849390121311235@orders"
	)
	srv := newProvider(t, iss)
	serveKeys(t, srv, publishedKey(t, srv, nil))
	m := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience(project))
	roles := "urn:zitadel:iam:org:project:roles"
	tok := mint(t, srv, map[string]any{"typ": "JWT"}, bearertest.Claims{"iss": iss, "sub": "231849390121376771",
		"aud": []string{client, project}, "client_id": client, "jti": "2318", "nbf": time.Now().Unix(),
		roles: map[string]any{"admin": map[string]any{"231849390121114115": "acme.zitadel.cloud"}}})
	wantCode(t, "JWT access token with a role", status(m, tok, bearer.Claim(roles, "admin").Exists()), 200)
	wantCode(t, "no scope in zitadel's JWTs", status(m, tok, bearer.AllScopes("openid")), 403)
	profile := recipe(t, srv, bearer.WithIssuer(iss), bearer.WithAudience(project), bearer.WithAccessTokenProfile())
	wantCode(t, "typ JWT under the profile", status(profile, tok), 401)

	// Opaque tokens (the default) by introspection, authenticated with the
	// API application's key (private_key_jwt).
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv.RequireClientKey("231849390121442307", key.Public())
	m2 := newMiddleware(t, bearer.Introspection(srv.IntrospectionURL, bearer.PrivateKeyJWT("231849390121442307", key, "2318493901")),
		bearer.WithIssuer(iss), bearer.WithAudience(project))
	opaque := srv.MintOpaque(bearertest.Claims{"iss": iss, "sub": "231849390121376771", "aud": []string{client, project},
		"client_id": client, "scope": "openid profile", "token_type": "Bearer", "username": "alice@acme"})
	wantCode(t, "opaque token", status(m2, opaque, bearer.AllScopes("openid")), 200)
}
