package bearer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Fetch errors. A fetch that fails for any of these keeps the last good
// keys.
var (
	// ErrInsecureURL: a key or discovery URL, or a redirect, is not https
	// (plain http is allowed for loopback hosts only, for tests).
	ErrInsecureURL = errors.New("bearer: URL is not https")
	// ErrRedirect: a fetch was redirected to another host, or too often.
	// Configure the final URL instead.
	ErrRedirect = errors.New("bearer: redirect refused")
	// ErrFetch: a fetch had no usable answer: a network error, a status
	// other than 200 (304 after a 200), an over-size or malformed body.
	ErrFetch = errors.New("bearer: fetch failed")
	// ErrIssuerMismatch: the discovery document names another issuer than
	// the one Discover was given (OpenID Connect Discovery 1.0 §4.3).
	ErrIssuerMismatch = errors.New("bearer: discovery document names another issuer")
)

// checkURL accepts an absolute https URL, or http for a loopback host.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bearer: malformed URL %q: %w", redact(raw), redactError(err))
	}
	// Hostname, not Host: "https://:/keys" has a Host (":") but no host,
	// and a dialer takes an empty host for the local machine.
	if u.Hostname() == "" || u.Opaque != "" {
		return nil, fmt.Errorf("bearer: URL %q is not absolute", redact(raw))
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	return u, nil
}

// checkRemoteURL is checkURL that, with insecure
// (RemoteInsecureHTTPForDevelopment), also accepts http to any host.
func checkRemoteURL(raw string, insecure bool) (*url.URL, error) {
	u, err := checkURL(raw)
	if err != nil && insecure && errors.Is(err, ErrInsecureURL) {
		if u, perr := url.Parse(raw); perr == nil && u.Scheme == "http" {
			return u, nil
		}
	}
	return u, err
}

// isPlainRemote reports whether raw is an http URL of a host that is not
// loopback: what RemoteInsecureHTTPForDevelopment warns of.
func isPlainRemote(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && !isLoopback(u.Hostname())
}

func checkScheme(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInsecureURL, redactedURL(u))
}

// redacted stands for the userinfo of a URL in whatever the package shows:
// logs, errors, events. A user name can be a secret too (a token used as
// one), so unlike url.URL.Redacted both parts go.
const redacted = "xxxxx"

// redact returns raw with its userinfo replaced by redacted, for logs,
// errors and events; raw itself when it has none. A URL that does not
// parse loses everything before the last "@" of what would be its host.
func redact(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	if u, err := url.Parse(raw); err == nil {
		return redactedURL(u)
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndexByte(raw[start:end], '@'); at >= 0 {
		return raw[:start] + redacted + raw[start+at:]
	}
	return raw
}

func redactedURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User(redacted)
	return c.String()
}

// redactError redacts the URL of a *url.Error (net/http keeps the user
// name of the URLs it reports, and url.Parse quotes its input).
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact(ue.URL)
	}
	return err
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// fetcher gets documents within the limits of a remote source.
type fetcher struct {
	client  *http.Client
	own     *http.Transport // the transport the source made, closed by close; nil for a user's client
	timeout time.Duration
	maxSize int64
	// insecure allows http to any host (RemoteInsecureHTTPForDevelopment);
	// warn is told of each such fetch.
	insecure bool
	warn     func(url string)
}

// ownTransport is the transport of a source that was given no
// http.Client: a copy of http.DefaultTransport's settings, closed with the
// source. DefaultTransport may have been replaced by another RoundTripper
// (instrumentation does): then plain defaults, with the environment's proxy.
func ownTransport() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment}
}

func newFetcher(c *remoteConfig) *fetcher {
	f := &fetcher{timeout: c.fetchTimeout, maxSize: c.maxSize, insecure: c.insecureHTTP}
	var client http.Client
	if c.client != nil {
		client = *c.client
	} else {
		f.own = ownTransport()
		client.Transport = f.own
	}
	client.Timeout = 0 // the per-attempt context decides
	next := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
		}
		// Keys come from the host the configuration names: a redirect
		// elsewhere would let that host, not the issuer's, choose them.
		if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return fmt.Errorf("%w: to another host (%s)", ErrRedirect, req.URL.Host)
		}
		// Never down to plain http, not even on loopback, where checkScheme
		// allows it: the configuration asked for TLS.
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect from https to %s", ErrInsecureURL, redactedURL(req.URL))
		}
		if err := checkScheme(req.URL); err != nil && !(f.insecure && req.URL.Scheme == "http") {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	f.client = &client
	return f
}

func (f *fetcher) close() {
	if f.own != nil {
		f.own.CloseIdleConnections()
	}
}

// answer is the outcome of one GET.
type answer struct {
	status     int
	header     http.Header
	body       []byte        // for 200 only
	retryAfter time.Duration // from a failed answer's Retry-After
}

// get fetches u. Only 200 (with a body within the size limit) and, when
// the request was conditional, 304 are answers; anything else is an error
// wrapping ErrFetch, with the status in the answer when there was one.
func (f *fetcher) get(ctx context.Context, u string, conditional http.Header) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if f.insecure && f.warn != nil && isPlainRemote(u) {
		f.warn(u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", ErrFetch, redactError(err))
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	for name, v := range conditional {
		req.Header[name] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		redactError(err)
		var redirect *url.Error
		if errors.As(err, &redirect) && (errors.Is(err, ErrRedirect) || errors.Is(err, ErrInsecureURL)) {
			return answer{}, redirect.Err
		}
		return answer{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	switch {
	case resp.StatusCode == http.StatusNotModified && len(conditional) > 0:
		return a, nil
	case resp.StatusCode != http.StatusOK:
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets a small error body keep the connection
		return a, fmt.Errorf("%w: %s: status %d", ErrFetch, redact(u), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxSize+1))
	if err != nil {
		return a, fmt.Errorf("%w: %s: reading body: %w", ErrFetch, redact(u), err)
	}
	if int64(len(body)) > f.maxSize {
		return a, fmt.Errorf("%w: %s: document larger than %d bytes", ErrFetch, redact(u), f.maxSize)
	}
	a.body = body
	return a, nil
}

// freshness is how long an answer's keys stay fresh: Cache-Control
// max-age (less Age), else Expires, else the configured interval, clamped
// to the configured limits. no-store and no-cache mean the least.
func (c *remoteConfig) freshness(h http.Header, now time.Time) time.Duration {
	d, known := c.refresh, false
	for _, v := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(v, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return c.minRefresh
			case "max-age":
				if s, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && s >= 0 {
					d, known = time.Duration(min(s, int64(c.maxRefresh/time.Second)+1))*time.Second, true
				}
			}
		}
	}
	if !known {
		if v := h.Get("Expires"); v != "" {
			base := now
			if date, err := http.ParseTime(h.Get("Date")); err == nil {
				base = date
			}
			if exp, err := http.ParseTime(v); err == nil {
				d = exp.Sub(base)
			} else {
				d = 0 // an invalid Expires means already expired (RFC 9111 §5.3)
			}
			known = true
		}
	}
	if known {
		if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 {
			d -= time.Duration(min(age, int64(c.maxRefresh/time.Second))) * time.Second
		}
	}
	return min(max(d, c.minRefresh), c.maxRefresh)
}

// refreshAt is when to refresh keys that are fresh for d: at about 80% of
// it, with jitter so that a fleet of servers does not fetch in step.
func refreshAt(now time.Time, d time.Duration) time.Time {
	f := 0.75 + 0.1*rand.Float64()
	return now.Add(time.Duration(float64(d) * f))
}

// backoff is the wait after the n-th consecutive failure: exponential from
// the minimum, capped, with equal jitter; a Retry-After asking for more is
// honoured up to the cap. urgent (there are no keys: nothing verifies)
// caps the wait at noKeysMaxBackoff, so that keys come soon after the
// provider does.
func (c *remoteConfig) backoff(n int, retryAfter time.Duration, urgent bool) time.Duration {
	ceiling := c.maxBackoff
	if urgent {
		ceiling = min(ceiling, noKeysMaxBackoff)
	}
	d := min(c.minBackoff, ceiling)
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, c.maxBackoff)
	}
	return d
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
