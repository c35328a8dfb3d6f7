package bearer

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Defaults of RemoteJWKS and Discover.
const (
	// DefaultFetchTimeout bounds one fetch: connection, request and body.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultMaxResponseSize bounds a JWKS or discovery document; a
	// larger one is a failed fetch, never a truncated set.
	DefaultMaxResponseSize = 1 << 20
	// DefaultRefreshInterval is how long keys stay fresh when the answer
	// carries no Cache-Control max-age or Expires.
	DefaultRefreshInterval = 15 * time.Minute
	// DefaultMinRefresh and DefaultMaxRefresh clamp the freshness an
	// answer asks for, so that max-age=0 cannot make a fetch per minute
	// into a fetch per request, nor a year-long max-age pin old keys.
	DefaultMinRefresh = time.Minute
	DefaultMaxRefresh = 24 * time.Hour
	// DefaultMaxStaleness is how long the last good keys are served past
	// their freshness while fetches fail; after that the source fails
	// closed (503).
	DefaultMaxStaleness = 24 * time.Hour
	// DefaultKeyMissCooldown is the pace of fetches wanted by unknown
	// kids (and by Ready, Check and Refresh): after a burst of three, one
	// per cooldown. Under a flood of made-up kids a source so fetches at
	// most 33 times in any minute (the burst and 30); a key the provider
	// has just published verifies within the cooldown plus one fetch of
	// its first use; and, the cooldown being shorter than DefaultKeyWait,
	// a request can always wait for the next fetch (within maxKeyWaiters).
	DefaultKeyMissCooldown = 2 * time.Second
	// DefaultKeyWait bounds how long a request waits for a fetch (the
	// first one, or one its unknown kid triggered) before it is answered.
	DefaultKeyWait = 3 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the exponential
	// backoff between failed fetches (and the Retry-After honoured).
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// maxRedirects bounds the redirects of one fetch.
const maxRedirects = 3

// keyMissBurst is how many wanted fetches may follow each other at once,
// before the cooldown paces them: a provider may create two or three keys
// in a row and sign with each at once.
const keyMissBurst = 3

// maxKeyWaiters bounds the requests of one source that wait for a fetch:
// beyond it they are answered at once (503 with Retry-After), so that a
// flood during a provider hang parks no more goroutines.
const maxKeyWaiters = 256

// noKeysMaxBackoff caps the backoff while a source has no keys (they never
// came, or expired): nothing verifies, so retries stay frequent, and keys
// come within this of the provider's return.
const noKeysMaxBackoff = 1500 * time.Millisecond

// A RemoteOption configures RemoteJWKS or Discover. Bad values, and an
// option given twice with different values, are reported by New.
type RemoteOption func(c *remoteConfig) error

type remoteConfig struct {
	client                 *http.Client
	fetchTimeout           time.Duration
	maxSize                int64
	refresh                time.Duration
	refreshSet             bool // RemoteRefreshInterval was given
	minRefresh, maxRefresh time.Duration
	maxStale               time.Duration
	cooldown               time.Duration
	wait                   time.Duration
	minBackoff, maxBackoff time.Duration
	insecureHTTP           bool // RemoteInsecureHTTPForDevelopment
	given                  givenOptions
}

func newRemoteConfig(opts []RemoteOption) (*remoteConfig, error) {
	c := &remoteConfig{
		fetchTimeout: DefaultFetchTimeout,
		maxSize:      DefaultMaxResponseSize,
		refresh:      DefaultRefreshInterval,
		minRefresh:   DefaultMinRefresh,
		maxRefresh:   DefaultMaxRefresh,
		maxStale:     DefaultMaxStaleness,
		cooldown:     DefaultKeyMissCooldown,
		wait:         DefaultKeyWait,
		minBackoff:   DefaultMinBackoff,
		maxBackoff:   DefaultMaxBackoff,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.given = nil
	if c.refreshSet && (c.refresh < c.minRefresh || c.refresh > c.maxRefresh) {
		return nil, fmt.Errorf("bearer: refresh interval %v outside the refresh limits [%v, %v]", c.refresh, c.minRefresh, c.maxRefresh)
	}
	c.refresh = min(max(c.refresh, c.minRefresh), c.maxRefresh) // the default, within limits that moved
	return c, nil
}

func positive(what string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("bearer: %s %v is not positive", what, d)
	}
	return nil
}

// span checks a [lo, hi] option: positive, and in order.
func span(what string, lo, hi time.Duration) error {
	if lo <= 0 || hi < lo {
		return fmt.Errorf("bearer: %s [%v, %v] is not a positive range", what, lo, hi)
	}
	return nil
}

// RemoteHTTPClient fetches with c instead of a client of the source's own.
// Its Transport, proxy and TLS settings are used; its Timeout is replaced
// by RemoteFetchTimeout's; redirects are checked as always (at most three, to
// the same host, never from https to http) before c's own CheckRedirect.
// Close leaves c's idle connections to its owner.
func RemoteHTTPClient(c *http.Client) RemoteOption {
	return func(rc *remoteConfig) error {
		if c == nil {
			return errors.New("bearer: nil http.Client")
		}
		rc.client = c
		return rc.given.once("RemoteHTTPClient", fmt.Sprintf("%p", c))
	}
}

// RemoteInsecureHTTPForDevelopment lets the source fetch its keys (and, for
// Discover, the discovery document) over plain http from any host, for a
// development set-up where the provider has no TLS: Keycloak at
// http://keycloak:8080 in docker-compose. Never use it in production:
// anyone on the network path can replace the keys and so mint tokens the
// service accepts. Every fetch over plain http to a host that is not
// loopback logs a warning. Without it, https is required (http only on
// loopback); with it, a redirect from https to http, and an https issuer
// whose discovery document names an http jwks_uri, are still refused.
func RemoteInsecureHTTPForDevelopment() RemoteOption {
	return func(rc *remoteConfig) error {
		rc.insecureHTTP = true
		return nil
	}
}

// RemoteFetchTimeout bounds each fetch attempt (default DefaultFetchTimeout).
func RemoteFetchTimeout(d time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.fetchTimeout = d
		return cmp.Or(positive("fetch timeout", d), c.given.once("RemoteFetchTimeout", d.String()))
	}
}

// RemoteMaxResponseSize bounds a fetched document, in bytes (default
// DefaultMaxResponseSize). A larger document is a failed fetch.
func RemoteMaxResponseSize(n int64) RemoteOption {
	return func(c *remoteConfig) error {
		if n <= 0 {
			return fmt.Errorf("bearer: max response size %d is not positive", n)
		}
		c.maxSize = n
		return c.given.once("RemoteMaxResponseSize", strconv.FormatInt(n, 10))
	}
}

// RemoteRefreshInterval sets how long keys stay fresh when the answer says
// nothing (no Cache-Control max-age, no Expires); default
// DefaultRefreshInterval, or the nearest of RemoteRefreshLimits. Refreshes
// start at about 80% of it.
func RemoteRefreshInterval(d time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.refresh, c.refreshSet = d, true
		return cmp.Or(positive("refresh interval", d), c.given.once("RemoteRefreshInterval", d.String()))
	}
}

// RemoteRefreshLimits clamps the freshness a server asks for with
// Cache-Control or Expires (defaults DefaultMinRefresh, DefaultMaxRefresh).
func RemoteRefreshLimits(min, max time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.minRefresh, c.maxRefresh = min, max
		return cmp.Or(span("refresh limits", min, max), c.given.once("RemoteRefreshLimits", min.String()+", "+max.String()))
	}
}

// RemoteMaxStaleness sets how long the last good keys are served past their
// freshness while fetches fail (default DefaultMaxStaleness). Then the
// source fails closed: tokens get 503 until a fetch succeeds.
func RemoteMaxStaleness(d time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		if d < 0 {
			return fmt.Errorf("bearer: max staleness %v is negative", d)
		}
		c.maxStale = d
		return c.given.once("RemoteMaxStaleness", d.String())
	}
}

// RemoteKeyMissCooldown sets the pace of the fetches wanted by tokens with an
// unknown kid, by Ready and Check while there are no keys, and by Refresh
// (default DefaultKeyMissCooldown): a burst of three, then one per
// cooldown. A longer cooldown means fewer fetches under a flood of made-up
// kids and a slower pickup of a new key while the flood lasts: such a key
// verifies within about the cooldown of its first use. Scheduled refreshes
// do not count against it.
func RemoteKeyMissCooldown(d time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.cooldown = d
		return cmp.Or(positive("key miss cooldown", d), c.given.once("RemoteKeyMissCooldown", d.String()))
	}
}

// RemoteKeyWait bounds how long a request waits for a fetch: the first one,
// or one its unknown kid wants (default DefaultKeyWait). A request whose
// fetch cannot start within it (the key-miss budget, a provider's
// Retry-After) is answered 503 at once, with the time until it can. The
// fetch itself is not cut short: later requests find its keys.
func RemoteKeyWait(d time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.wait = d
		return cmp.Or(positive("key wait", d), c.given.once("RemoteKeyWait", d.String()))
	}
}

// RemoteRetryBackoff bounds the exponential backoff between failed fetches
// (defaults DefaultMinBackoff, DefaultMaxBackoff). A Retry-After answer is
// honoured up to max.
func RemoteRetryBackoff(min, max time.Duration) RemoteOption {
	return func(c *remoteConfig) error {
		c.minBackoff, c.maxBackoff = min, max
		return cmp.Or(span("retry backoff", min, max), c.given.once("RemoteRetryBackoff", min.String()+", "+max.String()))
	}
}
