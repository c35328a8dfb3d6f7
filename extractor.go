package bearer

import (
	"errors"
	"net/http"
	"strings"
)

// Extractor takes the raw token from a request. It returns ("", ErrNoToken)
// (or an error wrapping it) when the request carries none, and an error
// wrapping ErrInvalidRequest when the request is malformed.
type Extractor func(r *http.Request) (string, error)

// AuthorizationHeader reads the token from the Authorization header, as
// RFC 6750 §2.1 describes: exactly one such header, the scheme "Bearer" in
// any case, one or more spaces, and a value of the b64token syntax. A header
// with another scheme (Basic, DPoP, ...) counts as no token. This is the
// default extractor.
func AuthorizationHeader() Extractor { return authorizationHeader }

func authorizationHeader(r *http.Request) (string, error) {
	return bearerCredentials(r.Header.Values("Authorization"))
}

// bearerCredentials reads the token from the values of an Authorization
// header by the rules of AuthorizationHeader.
func bearerCredentials(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errMultipleHeaders
	}
	token, ok, err := schemeCredentials(values[0], "Bearer")
	if !ok && err == nil {
		return "", errNoToken // another scheme
	}
	return token, err
}

// schemeCredentials reads an Authorization value of the form
// "<scheme> <b64token>", the scheme in any case, one or more spaces. ok is
// false for another scheme; a value of this scheme with nothing, or with
// something that is not a b64token, is a malformed request.
func schemeCredentials(v, scheme string) (token string, ok bool, err error) {
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false, nil
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", false, nil // another scheme, e.g. "Bearerx"
	}
	token = strings.TrimLeft(rest, " ")
	if !isB64Token(token) { // also "Bearer" with nothing
		return "", true, errMalformedCredentials
	}
	return token, true, nil
}

// isB64Token reports whether s matches RFC 6750 §2.1:
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// Every request's token goes through it, so it looks bytes up in a table,
// eight at a time with one branch.
func isB64Token(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		b := s[i : i+8]
		if b64TokenChar[b[0]]&b64TokenChar[b[1]]&b64TokenChar[b[2]]&b64TokenChar[b[3]]&
			b64TokenChar[b[4]]&b64TokenChar[b[5]]&b64TokenChar[b[6]]&b64TokenChar[b[7]] == 0 {
			return false
		}
	}
	for ; i < n; i++ {
		if b64TokenChar[s[i]] == 0 {
			return false
		}
	}
	return true
}

// b64TokenChar is 1 for the b64token characters other than "=".
var b64TokenChar = func() (t [256]uint8) {
	for c := range t {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			t[c] = 1
		}
	}
	return t
}()

// FromCookie reads the token from the cookie called name, as browser
// front-ends often send it. An empty cookie counts as no token; the same
// cookie twice is a malformed request. Protect such routes against CSRF:
// browsers send cookies on cross-site requests.
func FromCookie(name string) Extractor {
	return func(r *http.Request) (string, error) {
		cookies := r.CookiesNamed(name)
		switch {
		case len(cookies) == 0 || cookies[0].Value == "" && len(cookies) == 1:
			return "", errNoToken
		case len(cookies) > 1:
			return "", errMultipleTokens
		}
		if !isB64Token(cookies[0].Value) {
			return "", errMalformedCredentials
		}
		return cookies[0].Value, nil
	}
}

// FromQuery reads the token from the URL query parameter called name.
// RFC 6750 §2.3 discourages it: URLs end up in logs, browser history and
// Referer headers. Use it only where nothing else can carry a token (a
// websocket handshake from a browser, say), and only with short-lived tokens.
func FromQuery(name string) Extractor {
	return func(r *http.Request) (string, error) {
		values := r.URL.Query()[name]
		switch {
		case len(values) == 0 || values[0] == "" && len(values) == 1:
			return "", errNoToken
		case len(values) > 1:
			return "", errMultipleTokens
		}
		if !isB64Token(values[0]) {
			return "", errMalformedCredentials
		}
		return values[0], nil
	}
}

// FirstOf combines extractors: the token is wherever one of them finds it.
// A token found by more than one is a malformed request (RFC 6750 §2: a
// client must not use more than one method), as is any extractor's error
// other than ErrNoToken.
func FirstOf(ex ...Extractor) Extractor {
	ex = append([]Extractor(nil), ex...)
	return func(r *http.Request) (string, error) {
		found := ""
		for _, e := range ex {
			tok, err := e(r)
			switch {
			case errors.Is(err, ErrNoToken):
				continue
			case err != nil:
				return "", err
			case found != "":
				return "", errMultipleTokens
			}
			found = tok
		}
		if found == "" {
			return "", errNoToken
		}
		return found, nil
	}
}
