// Package otelbearer records the events of a bearer middleware as
// OpenTelemetry metrics, and the causes of its refusals as events of the
// request's span:
//
//	obs, err := otelbearer.New(otel.GetMeterProvider())
//	...
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud), bearer.WithObserver(obs))
//
// The metrics, all under the meter "github.com/bearerauth/bearer":
//
//	bearer.tokens              counter    {request} requests by how they were authenticated:
//	                                               each request the middleware does not skip, once
//	    bearer.outcome         "verified" | "rejected" | "anonymous" (no token, let through by the Mode)
//	    bearer.cached          true when the verified-token cache answered (verified only)
//	    bearer.error           OAuth error code: "invalid_token", "invalid_request",
//	                           "insufficient_scope", "temporarily_unavailable", or
//	                           "no_token" (rejected only)
//	    bearer.reason          the answer's fixed description, e.g. "token expired" (rejected only)
//	bearer.access.denied       counter    {request} requests a rule refused after the middleware admitted
//	                                               them (Require, RequireScopes, Authorize, the adapters' scopes)
//	    bearer.error           "insufficient_scope", or "no_token" for a route that needs a token
//	    bearer.reason          the answer's fixed description, e.g. "insufficient scope"
//	bearer.key.fetches         counter    {fetch}  fetches of JWKS and discovery documents
//	    url.full, bearer.fetch.trigger ("initial" | "scheduled" | "key-miss"),
//	    http.response.status_code (0 without an answer), bearer.outcome ("success" | "failure")
//	bearer.key.fetch.duration  histogram  s        the same fetches' durations, same attributes
//	bearer.keys                gauge      {key}    usable keys after the last successful JWKS fetch; url.full
//	bearer.keys.skipped        counter    {key}    keys of fetched sets that were not kept; url.full
//	bearer.key.misses          counter    {miss}   tokens with a kid not in the cached set
//	    url.full, bearer.key_miss.outcome ("found" | "unknown" | "rate-limited" | "timeout" | "unavailable")
//	bearer.keys.stale          counter    {event}  refreshes failed while stale keys were served; url.full
//	bearer.keys.expired        counter    {event}  cached keys dropped after the maximum staleness; url.full
//
// Attribute values are all bounded sets: no token, subject or kid is ever
// an attribute, nor the cause of a refusal, which says what was expected
// and what arrived. That cause goes to the request's span instead, when it
// is recording: an event "bearer.token.rejected" or "bearer.access.denied"
// with bearer.error, bearer.reason and bearer.cause (the error's text, cut
// to 1 KiB). It never holds the token or a signature.
package otelbearer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bearerauth/bearer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the name of the meter the metrics are recorded with.
const ScopeName = "github.com/bearerauth/bearer"

// Observer is a bearer.Observer that records metrics. It is safe for
// concurrent use.
type Observer struct {
	tokens        metric.Int64Counter
	denied        metric.Int64Counter
	fetches       metric.Int64Counter
	fetchDuration metric.Float64Histogram
	keys          metric.Int64Gauge
	skipped       metric.Int64Counter
	misses        metric.Int64Counter
	stale         metric.Int64Counter
	expired       metric.Int64Counter

	verified, verifiedCached, anonymous metric.AddOption
	rejected, denials                   sync.Map // code and description → metric.AddOption
	reasons                             atomic.Int64
}

var _ bearer.Observer = (*Observer)(nil)

// New returns an Observer recording with a meter of mp.
func New(mp metric.MeterProvider) (*Observer, error) {
	if mp == nil {
		return nil, errors.New("otelbearer: nil MeterProvider")
	}
	meter := mp.Meter(ScopeName)
	o := &Observer{
		verified:       metric.WithAttributeSet(attribute.NewSet(attribute.String("bearer.outcome", "verified"), attribute.Bool("bearer.cached", false))),
		verifiedCached: metric.WithAttributeSet(attribute.NewSet(attribute.String("bearer.outcome", "verified"), attribute.Bool("bearer.cached", true))),
		anonymous:      metric.WithAttributeSet(attribute.NewSet(attribute.String("bearer.outcome", "anonymous"))),
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	o.tokens = counter("bearer.tokens", "{request}", "Requests by how they were authenticated.")
	o.denied = counter("bearer.access.denied", "{request}", "Requests a rule refused after authentication.")
	o.fetches = counter("bearer.key.fetches", "{fetch}", "Fetches of JWKS and discovery documents.")
	o.skipped = counter("bearer.keys.skipped", "{key}", "Keys of fetched sets that were not kept.")
	o.misses = counter("bearer.key.misses", "{miss}", "Tokens whose kid was not in the cached key set.")
	o.stale = counter("bearer.keys.stale", "{event}", "Failed refreshes while stale keys were served.")
	o.expired = counter("bearer.keys.expired", "{event}", "Cached keys dropped after the maximum staleness.")
	var err error
	o.fetchDuration, err = meter.Float64Histogram("bearer.key.fetch.duration", metric.WithUnit("s"),
		metric.WithDescription("Durations of fetches of JWKS and discovery documents."))
	errs = append(errs, err)
	o.keys, err = meter.Int64Gauge("bearer.keys", metric.WithUnit("{key}"),
		metric.WithDescription("Usable keys after the last successful fetch."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

// TokenVerified counts a verified token.
func (o *Observer) TokenVerified(ctx context.Context, _ *bearer.Token, cached bool) {
	if cached {
		o.tokens.Add(ctx, 1, o.verifiedCached)
		return
	}
	o.tokens.Add(ctx, 1, o.verified)
}

// maxReasons bounds the distinct reasons recorded: the package's own are
// fixed texts, but a validator or a rule may return an *Error with any
// description, and a metric attribute must not grow without bound.
const maxReasons = 64

// maxCause bounds the cause recorded on a span, in bytes.
const maxCause = 1024

// TokenRejected counts a rejected token by its code and description
// ("other" beyond the first maxReasons distinct ones), and records its
// cause on the request's span.
func (o *Observer) TokenRejected(ctx context.Context, e *bearer.Error) {
	opt := o.option(&o.rejected, e, attribute.String("bearer.outcome", "rejected"))
	o.tokens.Add(ctx, 1, opt)
	spanEvent(ctx, "bearer.token.rejected", e)
}

// Anonymous counts a request without a token that the Mode let through.
func (o *Observer) Anonymous(ctx context.Context) {
	o.tokens.Add(ctx, 1, o.anonymous)
}

// AccessDenied counts a request a rule refused, by code and description,
// and records its cause on the request's span.
func (o *Observer) AccessDenied(ctx context.Context, _ *bearer.Token, e *bearer.Error) {
	o.denied.Add(ctx, 1, o.option(&o.denials, e))
	spanEvent(ctx, "bearer.access.denied", e)
}

// option returns the attributes of e's answer, with extra, made once per
// code and description and kept in cache.
// Keys are comparable structs, not joined strings: a rejected request,
// the path an attacker drives, allocates nothing to find its attributes.
func (o *Observer) option(cache *sync.Map, e *bearer.Error, extra ...attribute.KeyValue) metric.AddOption {
	key := answerKey{e.Code, e.Description, false}
	if opt, ok := cache.Load(key); ok {
		return opt.(metric.AddOption)
	}
	reason := e.Description
	if o.reasons.Add(1) > maxReasons {
		reason, key = "other", answerKey{e.Code, "", true}
		if opt, ok := cache.Load(key); ok {
			return opt.(metric.AddOption)
		}
	}
	attrs := append(extra, attribute.String("bearer.error", code(e)), attribute.String("bearer.reason", reason))
	opt, _ := cache.LoadOrStore(key, metric.WithAttributeSet(attribute.NewSet(attrs...)))
	return opt.(metric.AddOption)
}

// answerKey names the attributes of one answer; other marks the set of
// every reason past maxReasons.
type answerKey struct {
	code, description string
	other             bool
}

func code(e *bearer.Error) string {
	if e.Code == "" {
		return "no_token"
	}
	return e.Code
}

// spanEvent records e on the span of ctx, if it is recording: the cause,
// which says what was expected and what arrived, belongs there and in
// logs, not in metric attributes.
func spanEvent(ctx context.Context, name string, e *bearer.Error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	cause := e.Error()
	if len(cause) > maxCause {
		cause = strings.ToValidUTF8(cause[:maxCause], "") + "…"
	}
	span.AddEvent(name, trace.WithAttributes(
		attribute.String("bearer.error", code(e)),
		attribute.String("bearer.reason", e.Description),
		attribute.String("bearer.cause", cause)))
}

// KeysFetched records a fetch, its duration, and the keys it brought.
func (o *Observer) KeysFetched(e bearer.FetchEvent) {
	ctx := context.Background()
	outcome := "success"
	if e.Err != nil {
		outcome = "failure"
	}
	attrs := metric.WithAttributes(
		attribute.String("url.full", e.URL),
		attribute.String("bearer.fetch.trigger", e.Trigger.String()),
		attribute.Int("http.response.status_code", e.Status),
		attribute.String("bearer.outcome", outcome))
	o.fetches.Add(ctx, 1, attrs)
	o.fetchDuration.Record(ctx, e.Duration.Seconds(), attrs)
	if e.Err == nil && !e.Discovery {
		url := metric.WithAttributes(attribute.String("url.full", e.URL))
		o.keys.Record(ctx, int64(e.Keys), url)
		if len(e.Skipped) > 0 {
			o.skipped.Add(ctx, int64(len(e.Skipped)), url)
		}
	}
}

// KeyMiss counts a token whose kid was not cached, by outcome.
func (o *Observer) KeyMiss(e bearer.KeyMissEvent) {
	o.misses.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("url.full", e.URL),
		attribute.String("bearer.key_miss.outcome", e.Outcome.String())))
}

// KeysStale counts a failed refresh while stale keys are served.
func (o *Observer) KeysStale(e bearer.StaleEvent) {
	o.stale.Add(context.Background(), 1, metric.WithAttributes(attribute.String("url.full", e.URL)))
}

// KeysExpired counts cached keys dropped after the maximum staleness.
func (o *Observer) KeysExpired(e bearer.StaleEvent) {
	o.expired.Add(context.Background(), 1, metric.WithAttributes(attribute.String("url.full", e.URL)))
}
