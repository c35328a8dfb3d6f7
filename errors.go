package bearer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Every error returned by Admit, Verify and the
// scope checks is an *Error that wraps one of these, so callers match causes
// with errors.Is. ErrInvalidToken also matches every more specific cause of a
// rejected token (ErrExpired, ErrSignature, ...), ErrInvalidRequest every
// malformed request.
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = errors.New("bearer: no token")
	// ErrInvalidRequest: the request is malformed (two Authorization
	// headers, an empty or non-b64token credential, a token sent two ways).
	ErrInvalidRequest = errors.New("bearer: invalid request")
	// ErrInvalidToken: the token is rejected; the more specific sentinels
	// below say why.
	ErrInvalidToken = errors.New("bearer: invalid token")
	// ErrMalformed: the token is not a well-formed JWS compact JWT.
	ErrMalformed = errors.New("bearer: malformed token")
	// ErrTooLarge: the token exceeds the size limit (WithMaxTokenSize).
	ErrTooLarge = errors.New("bearer: token too large")
	// ErrAlgorithm: the token's alg is not allowed for the key or the allowlist.
	ErrAlgorithm = errors.New("bearer: algorithm not allowed")
	// ErrUnsupportedHeader: the token lists a crit header parameter this
	// package does not understand (RFC 7515 §4.1.11).
	ErrUnsupportedHeader = errors.New("bearer: unsupported critical header")
	// ErrTokenType: the typ header differs from WithTokenType.
	ErrTokenType = errors.New("bearer: token type not accepted")
	// ErrUnknownKey: no key of the key source matches the token's kid and
	// alg, or more than three do (a token without a kid against a larger
	// set): a token is checked against three keys at most.
	ErrUnknownKey = errors.New("bearer: unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("bearer: signature invalid")
	// ErrExpired: exp is in the past (beyond the leeway).
	ErrExpired = errors.New("bearer: token expired")
	// ErrNotYetValid: nbf or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("bearer: token not yet valid")
	// ErrIssuer: iss is missing or not one of WithIssuer.
	ErrIssuer = errors.New("bearer: issuer not accepted")
	// ErrAudience: aud is missing or names none of WithAudience.
	ErrAudience = errors.New("bearer: audience not accepted")
	// ErrMissingClaim: a required claim (exp, or one of WithRequiredClaims) is absent.
	ErrMissingClaim = errors.New("bearer: missing required claim")
	// ErrRejected: a WithValidator function rejected the token.
	ErrRejected = errors.New("bearer: token rejected")
	// ErrRevoked: the token has been revoked (WithRevocation).
	ErrRevoked = errors.New("bearer: token revoked")
	// ErrKeysUnavailable: the key source has no keys and cannot fetch any;
	// the token may be fine, so the answer is 503, not 401.
	ErrKeysUnavailable = errors.New("bearer: signing keys unavailable")
	// ErrRevocationUnavailable: the Revoker of WithRevocation cannot say
	// whether the token is revoked; as with ErrKeysUnavailable the answer is
	// 503, unless WithRevocationFailOpen accepts the token.
	ErrRevocationUnavailable = errors.New("bearer: revocation status unavailable")
	// ErrInsufficientScope: the token lacks a scope the route requires.
	ErrInsufficientScope = errors.New("bearer: insufficient scope")
)

// ErrConfig is matched by every error New returns: a configuration that
// cannot be used as given (a missing audience or issuer, options that
// conflict, a bad value, a key too weak). The message says how to fix it.
var ErrConfig = errors.New("bearer: configuration")

// OAuth error codes used in Error.Code (RFC 6750 §3.1, RFC 6749 §4.1.2.1).
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is the answer to a request that failed authentication or
// authorization. Its fields are what WriteError sends: Code and Description
// go into the WWW-Authenticate challenge and the JSON body, Scope into the
// challenge of a 403. Description is always a fixed short text: never the
// token, key material or an internal error string.
type Error struct {
	Code        string        // OAuth error code; "" when the request had no token
	Description string        // fixed human-readable text, safe to send
	Scope       string        // space-separated scopes required (insufficient_scope only)
	Status      int           // HTTP status: 400, 401, 403 or 503
	RetryAfter  time.Duration // for 503: when to try again; 0 means unknown
	Err         error         // the cause: a sentinel, possibly wrapping more detail
}

// Error returns a message for logs: the cause, which says what was
// expected and what arrived ("bearer: token expired: exp ..., now ...
// (leeway 30s)"), with values from the token cut and escaped, never the
// token itself. It is for the operator: send Description to clients, not
// Error().
func (e *Error) Error() string {
	if e.Err == nil {
		return "bearer: " + e.Description
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the error belongs to the class target names, so that
// errors.Is(err, ErrInvalidToken) holds for an expired token as well.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidToken:
		return e.Code == CodeInvalidToken
	case ErrInvalidRequest:
		return e.Code == CodeInvalidRequest
	case ErrInsufficientScope:
		return e.Code == CodeInsufficientScope
	}
	return false
}

// The answers, one per cause, built once: descriptions are fixed texts.
func invalidToken(cause error, description string) *Error {
	return &Error{Code: CodeInvalidToken, Description: description, Status: http.StatusUnauthorized, Err: cause}
}

func invalidRequest(description string) *Error {
	return &Error{Code: CodeInvalidRequest, Description: description, Status: http.StatusBadRequest, Err: ErrInvalidRequest}
}

var (
	errNoToken              = &Error{Description: "bearer token required", Status: http.StatusUnauthorized, Err: ErrNoToken}
	errMultipleHeaders      = invalidRequest("multiple authorization headers")
	errMalformedCredentials = invalidRequest("malformed bearer credentials")
	errMultipleTokens       = invalidRequest("token sent more than one way")
	errMalformed            = invalidToken(ErrMalformed, "malformed token")
	errMalformedClaims      = invalidToken(ErrMalformed, "malformed claims")
	errTooLarge             = invalidToken(ErrTooLarge, "token too large")
	errAlgorithm            = invalidToken(ErrAlgorithm, "algorithm not allowed")
	errCritical             = invalidToken(ErrUnsupportedHeader, "unsupported critical header")
	errTokenType            = invalidToken(ErrTokenType, "token type not accepted")
	errUnknownKey           = invalidToken(ErrUnknownKey, "unknown signing key")
	errSignature            = invalidToken(ErrSignature, "signature invalid")
	errExpired              = invalidToken(ErrExpired, "token expired")
	errNotYetValid          = invalidToken(ErrNotYetValid, "token not yet valid")
	errIssuedInFuture       = invalidToken(ErrNotYetValid, "token issued in the future")
	errIssuer               = invalidToken(ErrIssuer, "issuer not accepted")
	errAudience             = invalidToken(ErrAudience, "audience not accepted")
	errMissingExpiry        = invalidToken(ErrMissingClaim, "token has no expiry")
	errMissingClaim         = invalidToken(ErrMissingClaim, "missing required claim")
	errKeysUnavailable      = &Error{Code: CodeTemporarilyUnavailable, Description: "signing keys unavailable", Status: http.StatusServiceUnavailable, Err: ErrKeysUnavailable}
)

// copyError returns a copy of err when it is an *Error. The answers are
// shared values, built once; what leaves the package is a copy, so that a
// handler that changes the one it got cannot change another request's.
func copyError(err error) error {
	if e, ok := err.(*Error); ok {
		c := *e
		return &c
	}
	return err
}

func errNilOption(what string) error { return fmt.Errorf("bearer: nil %s", what) }

// noUsableKey is ErrNoUsableKey for a key set of n keys, all skipped:
// the reasons of the first maxListed, so that the set can be fixed.
func noUsableKey(n int, skipped []skippedKey) error {
	if n == 0 {
		return fmt.Errorf("%w: the key set has no keys", ErrNoUsableKey)
	}
	reasons := atMost(len(skipped), "; ", func(i int) string {
		s := skipped[i]
		which := fmt.Sprintf("key %d (no kid)", i+1)
		if s.kid != "" {
			which = fmt.Sprintf("key %d (kid %q)", i+1, s.kid)
		}
		return which + ": " + strings.TrimPrefix(s.reason.Error(), "bearer: ")
	})
	return fmt.Errorf("%w: none of the %d keys of the set can verify tokens: %s", ErrNoUsableKey, n, reasons)
}

// within puts err, a configuration error, in the context where, keeping
// one "bearer: " prefix: "bearer: issuer "x": key too weak: ...", not
// "bearer: issuer "x": bearer: key too weak: ...". errors.Is and As see err.
func within(where string, err error) error {
	return &contextError{"bearer: " + where + ": " + strings.TrimPrefix(err.Error(), "bearer: "), []error{err}}
}

// failedAt is err, the cause of a failure of kind (a sentinel), at where:
// "bearer: fetch failed: https://…/jwks: no usable key ...", not
// "bearer: fetch failed: https://…/jwks: bearer: no usable key ...".
// errors.Is and As see both kind and err.
func failedAt(kind error, where string, err error) error {
	msg := kind.Error() + ": " + where + ": " + strings.TrimPrefix(err.Error(), "bearer: ")
	return &contextError{msg, []error{kind, err}}
}

// configError makes err, an error of New, match ErrConfig as well as its
// own sentinels, with its message unchanged.
func configError(err error) error {
	if errors.Is(err, ErrConfig) {
		return err
	}
	return &contextError{err.Error(), []error{ErrConfig, err}}
}

type contextError struct {
	msg  string
	errs []error
}

func (e *contextError) Error() string   { return e.msg }
func (e *contextError) Unwrap() []error { return e.errs }

// The answers of WithRevocation.
var (
	errRevoked               = invalidToken(ErrRevoked, "token revoked")
	errRevocationUnavailable = unavailable(ErrRevocationUnavailable, "revocation status unavailable")
)

func unavailable(cause error, description string) *Error {
	return &Error{Code: CodeTemporarilyUnavailable, Description: description, Status: http.StatusServiceUnavailable, Err: cause}
}

// errorFrom turns any error into the *Error to answer with. Errors that are
// not ours (from a custom Extractor, a validator, a key source) become a
// generic answer whose Description reveals nothing of them.
func errorFrom(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrNoToken):
		return errNoToken
	case errors.Is(err, ErrInvalidRequest):
		return &Error{Code: CodeInvalidRequest, Description: "invalid request", Status: http.StatusBadRequest, Err: err}
	case errors.Is(err, ErrKeysUnavailable):
		return &Error{Code: CodeTemporarilyUnavailable, Description: errKeysUnavailable.Description, Status: http.StatusServiceUnavailable, Err: err}
	case errors.Is(err, ErrRevocationUnavailable):
		return unavailable(err, errRevocationUnavailable.Description)
	case errors.Is(err, ErrInsufficientScope):
		return &Error{Code: CodeInsufficientScope, Description: "insufficient scope", Status: http.StatusForbidden, Err: err}
	}
	return invalidToken(err, "token rejected")
}

// StatusCode returns e.Status. Frameworks that take the status of an
// error from such a method (Echo v5, for one) so answer with the right one.
func (e *Error) StatusCode() int { return e.Status }

// MarshalJSON encodes e as the body of its answer:
// {"error":"invalid_token","error_description":"token expired"}, with
// "scope" for insufficient_scope and "unauthorized" as the error of a
// request without a token. Frameworks that write errors as JSON so send
// the body WriteError sends; the cause (Err) is never part of it.
func (e *Error) MarshalJSON() ([]byte, error) {
	code := e.Code
	if code == "" {
		code = "unauthorized"
	}
	return json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
		Scope       string `json:"scope,omitempty"`
	}{code, e.Description, e.Scope})
}
