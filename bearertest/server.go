package bearertest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// Paths a Server serves.
const (
	JWKSPath      = "/.well-known/jwks.json"
	DiscoveryPath = "/.well-known/openid-configuration"
)

// Server is an identity provider for tests: an httptest.Server that
// publishes the keys of its Issuer as a JWKS document and an OpenID Connect
// discovery document naming it. Rotate and Retire change what it publishes;
// its Keys, Discovery and Introspection endpoints fail, hang or serve anything on demand,
// and count the requests they get. It is safe for concurrent use.
//
//	srv := bearertest.NewServer(bearertest.RS256)
//	defer srv.Close()
//	m, err := bearer.New(bearer.RemoteJWKS(srv.JWKSURL),
//		bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
//	...
//	srv.Keys.Fail(http.StatusInternalServerError) // the provider is down
type Server struct {
	*Issuer

	// URL is the server's base URL, http on a loopback address. Unless
	// WithIssuer said otherwise it is also the issuer (iss) of minted
	// tokens and of the discovery document, so bearer.Discover(srv.URL)
	// works.
	URL string
	// JWKSURL is URL + JWKSPath, for bearer.RemoteJWKS.
	JWKSURL string

	// Keys is the JWKS endpoint: its document lists the Issuer's
	// published keys (public parts), with an ETag honoured by
	// If-None-Match.
	Keys *Endpoint
	// Discovery is the OpenID Connect discovery endpoint: its document
	// names the issuer, JWKSURL as jwks_uri and IntrospectionURL as
	// introspection_endpoint.
	Discovery *Endpoint
	// Introspection is the token introspection endpoint (RFC 7662) at
	// IntrospectionURL: it answers for the tokens of MintOpaque, in JSON
	// or, when asked, as a JWT signed by the Issuer (RFC 9701).
	Introspection *Endpoint
	// IntrospectionURL is URL + IntrospectionPath.
	IntrospectionURL string

	intro introspection

	srv     *httptest.Server
	client  *http.Client
	pipes   *pipeListener // InMemory only
	closing chan struct{}
	once    sync.Once
}

// InMemory makes NewServer serve over in-memory connections instead of TCP,
// so that the server works inside a testing/synctest bubble, where time
// advances only while every goroutine waits: only the server's Client can
// reach it then (pass it with bearer.RemoteHTTPClient). Create and close such
// a server inside the bubble. NewIssuer ignores this option.
func InMemory() Option { return func(i *Issuer) { i.inMemory = true } }

// NewServer starts a Server whose Issuer signs with a new key for alg. opts
// configure the Issuer as for NewIssuer (WithIssuer replaces the default,
// URL) and the server (InMemory). Like httptest.NewServer it panics when it
// cannot start, and for HMAC algorithms: secrets are never published.
func NewServer(alg Algorithm, opts ...Option) *Server {
	switch alg {
	case HS256, HS384, HS512:
		panic("bearertest: NewServer publishes public keys; HMAC secrets are never served")
	}
	iss, err := newIssuer(alg, "", opts)
	if err != nil {
		panic(err)
	}
	s := &Server{Issuer: iss, closing: make(chan struct{})}
	s.Keys = &Endpoint{closing: s.closing, release: make(chan struct{})}
	s.Discovery = &Endpoint{closing: s.closing, release: make(chan struct{})}
	s.Introspection = &Endpoint{closing: s.closing, release: make(chan struct{})}
	s.intro.tokens = make(map[string]Claims)
	mux := http.NewServeMux()
	mux.Handle("GET "+JWKSPath, s.Keys.handler(s.serveJWKS))
	mux.Handle("GET "+DiscoveryPath, s.Discovery.handler(s.serveDiscovery))
	mux.Handle("POST "+IntrospectionPath, s.Introspection.handler(s.serveIntrospection))
	s.srv = httptest.NewUnstartedServer(mux)
	if iss.inMemory {
		// The closed TCP listener's address stays the URL: a loopback
		// address of a port no other server of the test has.
		s.pipes = newPipeListener(s.srv.Listener.Addr())
		s.srv.Listener.Close()
		s.srv.Listener = s.pipes
		s.client = &http.Client{Transport: &http.Transport{DialContext: s.pipes.dial}}
	}
	s.URL = "http://" + s.srv.Listener.Addr().String()
	s.JWKSURL = s.URL + JWKSPath
	s.IntrospectionURL = s.URL + IntrospectionPath
	if iss.iss == "" {
		iss.iss = s.URL
	}
	s.srv.Start()
	if s.client == nil {
		s.client = s.srv.Client()
	}
	return s
}

// Client returns an HTTP client that reaches the server, the only one
// that does for an InMemory server.
func (s *Server) Client() *http.Client { return s.client }

// Close releases hanging requests, shuts the server down and closes the
// Client's idle connections.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.Close()
		if s.pipes != nil {
			s.client.CloseIdleConnections()
		}
	})
}

func (s *Server) serveJWKS(e *Endpoint, w http.ResponseWriter, r *http.Request) {
	doc := s.JWKS()
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		e.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(doc)
}

func (s *Server) serveDiscovery(_ *Endpoint, w http.ResponseWriter, _ *http.Request) {
	doc, _ := json.Marshal(map[string]any{
		"issuer":                                s.Issuer.Issuer(),
		"jwks_uri":                              s.JWKSURL,
		"introspection_endpoint":                s.IntrospectionURL,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(s.Algorithm())},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

// Endpoint is one document of a Server. By default it serves the real
// document; Fail, Hang, Serve and Redirect change that until Recover.
type Endpoint struct {
	mu       sync.Mutex
	mode     endpointMode
	status   int
	body     []byte
	location string
	header   http.Header
	release  chan struct{} // closed when the mode changes, to wake hanging requests
	closing  <-chan struct{}

	requests    atomic.Int64
	notModified atomic.Int64
}

type endpointMode uint8

const (
	modeReal endpointMode = iota
	modeFail
	modeHang
	modeServe
	modeRedirect
)

// Fail answers every request with status and a small JSON error body, as
// a provider's failing front end would (a 500 with JSON is not a key set).
func (e *Endpoint) Fail(status int) { e.set(modeFail, status, nil, "") }

// Hang holds every request until its client gives up, the mode changes or
// the server closes.
func (e *Endpoint) Hang() { e.set(modeHang, 0, nil, "") }

// Serve answers every request 200 with body instead of the real document:
// garbage, an over-size document, a set of odd keys.
func (e *Endpoint) Serve(body []byte) { e.set(modeServe, 0, append([]byte(nil), body...), "") }

// Redirect answers every request 302 Found to location.
func (e *Endpoint) Redirect(location string) { e.set(modeRedirect, 0, nil, location) }

// Recover serves the real document again.
func (e *Endpoint) Recover() { e.set(modeReal, 0, nil, "") }

// SetHeader sets a header on every answer (Cache-Control, Expires,
// Retry-After ...); an empty value removes it.
func (e *Endpoint) SetHeader(name, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.header == nil {
		e.header = http.Header{}
	}
	if value == "" {
		e.header.Del(name)
	} else {
		e.header.Set(name, value)
	}
}

// Requests returns how many requests the endpoint got, whatever it
// answered.
func (e *Endpoint) Requests() int { return int(e.requests.Load()) }

// NotModified returns how many of them were answered 304 Not Modified.
func (e *Endpoint) NotModified() int { return int(e.notModified.Load()) }

func (e *Endpoint) set(m endpointMode, status int, body []byte, location string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mode, e.status, e.body, e.location = m, status, body, location
	close(e.release)
	e.release = make(chan struct{})
}

func (e *Endpoint) handler(real func(*Endpoint, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		for {
			e.mu.Lock()
			mode, status, body, location, release := e.mode, e.status, e.body, e.location, e.release
			for name, v := range e.header {
				w.Header()[name] = v
			}
			e.mu.Unlock()
			switch mode {
			case modeHang:
				select {
				case <-release:
					continue
				case <-r.Context().Done():
				case <-e.closing:
				}
			case modeFail:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				w.Write([]byte(`{"error":"server_error","error_description":"failure injected by bearertest"}` + "\n"))
			case modeServe:
				w.Write(body)
			case modeRedirect:
				http.Redirect(w, r, location, http.StatusFound)
			default:
				real(e, w, r)
			}
			return
		}
	})
}
