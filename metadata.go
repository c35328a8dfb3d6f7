package bearer

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// ResourceMetadataPath is the well-known path of RFC 9728 protected resource
// metadata. For a resource identifier with a path, the path follows it:
// https://api.example.com/v1 → /.well-known/oauth-protected-resource/v1.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata describes the protected resource (the API) to clients,
// as RFC 9728 §2 defines. Resource is required; the rest is optional, and
// AuthorizationServers defaults to the issuers of WithIssuer.
type ResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers,omitempty"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
	ResourcePolicyURI      string   `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI         string   `json:"resource_tos_uri,omitempty"`
}

// WithResourceMetadata publishes md: ResourceMetadataHandler serves it, and
// every challenge carries its URL in a resource_metadata parameter (RFC
// 9728 §5.1), so a client that gets a 401 can find out which authorization
// server to ask. md.Resource must be an https URL (http on loopback)
// without query or fragment.
func WithResourceMetadata(md ResourceMetadata) Option {
	return func(m *Middleware) error {
		if err := m.given.once("WithResourceMetadata", ""); err != nil {
			return err
		}
		u, err := checkURL(md.Resource)
		if err != nil || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("bearer: ResourceMetadata.Resource must be an https URL without query or fragment")
		}
		md.AuthorizationServers = slices.Clone(md.AuthorizationServers)
		md.ScopesSupported = slices.Clone(md.ScopesSupported)
		md.BearerMethodsSupported = slices.Clone(md.BearerMethodsSupported)
		m.metadata = &md
		m.metadataURL = u.Scheme + "://" + u.Host + ResourceMetadataPath + strings.TrimSuffix(u.EscapedPath(), "/")
		return nil
	}
}

// ResourceMetadataURL returns the URL the metadata is published at, or ""
// without WithResourceMetadata. Mount ResourceMetadataHandler at its path.
func (m *Middleware) ResourceMetadataURL() string { return m.metadataURL }

// ResourceMetadataHandler serves the document of WithResourceMetadata as
// application/json (404 without it). Mount it at the path of
// ResourceMetadataURL, outside the middleware: clients read it without a
// token.
func (m *Middleware) ResourceMetadataHandler() http.Handler {
	var doc []byte
	if m.metadata != nil {
		md := *m.metadata
		if md.AuthorizationServers == nil {
			md.AuthorizationServers = m.issuers
		}
		if md.BearerMethodsSupported == nil {
			md.BearerMethodsSupported = []string{"header"}
		}
		doc, _ = json.Marshal(md)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if doc == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(doc)
	})
}
