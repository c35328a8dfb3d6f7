package bearer_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestConfigurationErrorsExplainThemselves: New's errors say what is
// wrong and how to fix it, with one "bearer:" prefix, and match their
// sentinels with errors.Is.
func TestConfigurationErrorsExplainThemselves(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	short := bearer.Secret([]byte("too short"))
	var jwks struct{ Keys []map[string]any }
	if err := json.Unmarshal(iss.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	enc := jwks.Keys[0]
	enc["use"], enc["kid"] = "enc", "enc1"
	unusable, _ := json.Marshal(map[string]any{"keys": []any{enc, map[string]any{"kty": "oct", "k": "c2hvcnQ"}}})
	unusableSet, err := bearer.KeySetJSON(unusable)
	if err != nil {
		t.Fatal(err)
	}
	emptySet, err := bearer.KeySetJSON([]byte(`{"keys":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	handler := bearer.WithErrorHandler(func(http.ResponseWriter, *http.Request, error) {})
	profile := []bearer.Option{bearer.WithAccessTokenProfile(), bearer.WithAudience("api")}
	cases := []struct {
		name string
		keys bearer.KeySource
		opts []bearer.Option
		is   error
		text string
	}{
		{"weak secret", short, nil, bearer.ErrWeakKey,
			"bearer: key too weak: HS256 needs a secret of at least 32 bytes"},
		{"weak secret of an issuer", bearer.Issuers(bearer.TrustedIssuer{Issuer: "https://a.example", Keys: short}), nil, bearer.ErrWeakKey,
			`bearer: issuer "https://a.example": key too weak: HS256 needs a secret of at least 32 bytes`},
		{"key set with only unusable keys", unusableSet, nil, bearer.ErrNoUsableKey,
			`bearer: no usable key: none of the 2 keys of the set can verify tokens: key 1 (kid "enc1"): key use "enc" is not "sig"; key 2 (no kid): key too weak: HS256 needs a secret of at least 32 bytes`},
		{"empty key set", emptySet, nil, bearer.ErrNoUsableKey,
			"bearer: no usable key: the key set has no keys"},
		{"algorithm in lower case", iss.KeySource(), []bearer.Option{bearer.WithAlgorithms("es256")}, nil,
			`bearer: unsupported algorithm "es256": names are case-sensitive, use "ES256"`},
		{"none", iss.KeySource(), []bearer.Option{bearer.WithAlgorithms("None")}, nil,
			`bearer: algorithm "None": unsigned tokens are never accepted`},
		{"unknown algorithm", iss.KeySource(), []bearer.Option{bearer.WithAlgorithms("ES257")}, nil,
			`bearer: unsupported algorithm "ES257": use one of HS256 HS384 HS512 RS256`},
		{"optional, then allow failed", iss.KeySource(), []bearer.Option{bearer.WithMode(bearer.CredentialsOptional), bearer.WithMode(bearer.AllowFailed)}, bearer.ErrConfig,
			"bearer: configuration: WithMode(AllowFailed) after WithMode(CredentialsOptional); give one"},
		{"two leeways", iss.KeySource(), []bearer.Option{bearer.WithLeeway(time.Second), bearer.WithLeeway(time.Minute)}, bearer.ErrConfig,
			"bearer: configuration: WithLeeway(1m0s) after WithLeeway(1s); give one"},
		{"two realms", iss.KeySource(), []bearer.Option{bearer.WithRealm("a"), bearer.WithRealm("b")}, bearer.ErrConfig, "WithRealm(b) after WithRealm(a)"},
		{"two token types", iss.KeySource(), []bearer.Option{bearer.WithTokenType("jwt"), bearer.WithTokenType("at+jwt")}, bearer.ErrConfig, "WithTokenType(at+jwt) after WithTokenType(jwt)"},
		{"two sizes", iss.KeySource(), []bearer.Option{bearer.WithMaxTokenSize(100), bearer.WithMaxTokenSize(200)}, bearer.ErrConfig, "WithMaxTokenSize(200)"},
		{"two caches", iss.KeySource(), []bearer.Option{bearer.WithTokenCache(0), bearer.WithTokenCache(10)}, bearer.ErrConfig, "WithTokenCache(10)"},
		{"two scope claims", iss.KeySource(), []bearer.Option{bearer.WithScopeClaim("roles"), bearer.WithScopeClaim("permissions")}, bearer.ErrConfig, "WithScopeClaim(permissions)"},
		{"two algorithm lists", iss.KeySource(), []bearer.Option{bearer.WithAlgorithms("ES256"), bearer.WithAlgorithms("ES256", "RS256")}, bearer.ErrConfig, "WithAlgorithms"},
		{"two error handlers", iss.KeySource(), []bearer.Option{handler, handler}, bearer.ErrConfig,
			"bearer: configuration: WithErrorHandler given twice; give it once"},
		{"two observers", iss.KeySource(), []bearer.Option{bearer.WithObserver(bearer.NopObserver{}), bearer.WithObserver(bearer.NopObserver{})}, bearer.ErrConfig, "WithObserver given twice"},
		{"two loggers", iss.KeySource(), []bearer.Option{bearer.WithLogger(slog.Default()), bearer.WithLogger(slog.New(slog.DiscardHandler))}, bearer.ErrConfig, "WithLogger"},
		{"two extractors", iss.KeySource(), []bearer.Option{bearer.WithExtractor(bearer.AuthorizationHeader()), bearer.WithExtractor(bearer.AuthorizationHeader())}, bearer.ErrConfig, "WithExtractor given twice"},
		{"two clocks", iss.KeySource(), []bearer.Option{bearer.WithClock(time.Now), bearer.WithClock(time.Now)}, bearer.ErrConfig, "WithClock given twice"},
		{"two DPoP configurations", iss.KeySource(), []bearer.Option{bearer.WithDPoP(bearer.DPoP{}), bearer.WithDPoP(bearer.DPoP{Required: true})}, bearer.ErrConfig, "WithDPoP given twice"},
		{"profile and another type", iss.KeySource(), append(profile, bearer.WithTokenType("JWT")), bearer.ErrConfig,
			`bearer: configuration: WithTokenType("jwt") contradicts the at+jwt of WithAccessTokenProfile`},
		{"profile without expiry", iss.KeySource(), append(profile, bearer.WithExpiryOptional()), bearer.ErrConfig,
			"bearer: configuration: WithExpiryOptional contradicts WithAccessTokenProfile"},
		{"nil logger", iss.KeySource(), []bearer.Option{bearer.WithLogger(nil)}, nil, "slog.DiscardHandler silences"},
		{"negative leeway", iss.KeySource(), []bearer.Option{bearer.WithLeeway(-time.Second)}, nil, "bearer: WithLeeway(-1s): the leeway cannot be negative"},
	}
	for _, c := range cases {
		// The issuer and audience New requires: the error must be the
		// case's own.
		opts := append([]bearer.Option{bearer.WithIssuer("https://a.example"), bearer.WithAudience("api")}, c.opts...)
		_, err := bearer.New(c.keys, opts...)
		switch {
		case err == nil:
			t.Errorf("%s: New accepted it", c.name)
		case c.is != nil && !errors.Is(err, c.is):
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		case !errors.Is(err, bearer.ErrConfig):
			t.Errorf("%s: %v is not ErrConfig: every error of New is", c.name, err)
		case !strings.Contains(err.Error(), c.text):
			t.Errorf("%s:\n%s\nwant\n%s", c.name, err, c.text)
		case strings.Count(err.Error(), "bearer:") != 1:
			t.Errorf("%s: %q stutters", c.name, err)
		}
	}
}

// TestSameOptionTwiceIsNoConflict: an option given twice with the same
// value is no conflict, and options that add to a list add.
func TestSameOptionTwiceIsNoConflict(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	logger := slog.New(slog.DiscardHandler)
	newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()),
		bearer.WithMode(bearer.CredentialsOptional), bearer.WithMode(bearer.CredentialsOptional),
		bearer.WithLeeway(time.Second), bearer.WithLeeway(time.Second),
		bearer.WithLogger(logger), bearer.WithLogger(logger),
		bearer.WithAccessTokenProfile(), bearer.WithTokenType("application/AT+JWT"), bearer.WithAccessTokenProfile(),
		bearer.WithAudience("a"), bearer.WithAudience("b"))
}

// TestRemoteOptionsGivenTwice: a remote source's options conflict as the
// middleware's do: a second value is an ErrConfig naming both, the same
// value twice is none.
func TestRemoteOptionsGivenTwice(t *testing.T) {
	const url = "https://idp.example/jwks"
	client := &http.Client{}
	for name, opts := range map[string][]bearer.RemoteOption{
		"RemoteFetchTimeout":    {bearer.RemoteFetchTimeout(time.Second), bearer.RemoteFetchTimeout(2 * time.Second)},
		"RemoteMaxResponseSize": {bearer.RemoteMaxResponseSize(1 << 10), bearer.RemoteMaxResponseSize(1 << 20)},
		"RemoteRefreshInterval": {bearer.RemoteRefreshInterval(time.Hour), bearer.RemoteRefreshInterval(2 * time.Hour)},
		"RemoteRefreshLimits":   {bearer.RemoteRefreshLimits(time.Minute, time.Hour), bearer.RemoteRefreshLimits(time.Second, time.Hour)},
		"RemoteMaxStaleness":    {bearer.RemoteMaxStaleness(time.Hour), bearer.RemoteMaxStaleness(0)},
		"RemoteKeyMissCooldown": {bearer.RemoteKeyMissCooldown(time.Second), bearer.RemoteKeyMissCooldown(time.Minute)},
		"RemoteKeyWait":         {bearer.RemoteKeyWait(time.Second), bearer.RemoteKeyWait(2 * time.Second)},
		"RemoteRetryBackoff":    {bearer.RemoteRetryBackoff(time.Second, time.Minute), bearer.RemoteRetryBackoff(time.Second, time.Hour)},
		"RemoteHTTPClient":      {bearer.RemoteHTTPClient(client), bearer.RemoteHTTPClient(&http.Client{})},
	} {
		for _, keys := range []bearer.KeySource{bearer.RemoteJWKS(url, opts...), bearer.Discover("https://idp.example", opts...)} {
			m, err := bearer.New(keys, anyAudience(quiet)...)
			if err == nil {
				m.Close()
				t.Errorf("%s twice: New succeeded", name)
				continue
			}
			if !errors.Is(err, bearer.ErrConfig) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s twice: %v, want ErrConfig naming it", name, err)
			}
		}
	}
	m, err := bearer.New(bearer.RemoteJWKS(url,
		bearer.RemoteFetchTimeout(time.Second), bearer.RemoteFetchTimeout(time.Second),
		bearer.RemoteHTTPClient(client), bearer.RemoteHTTPClient(client),
		bearer.RemoteRetryBackoff(time.Second, time.Minute), bearer.RemoteRetryBackoff(time.Second, time.Minute),
	), anyIssuerAnyAudience(quiet)...)
	if err != nil {
		t.Fatalf("the same values twice: %v", err)
	}
	m.Close()
}
