package bearer

import "slices"

// registeredClaim numbers the claims readClaims reads, so that their
// presence is a bit of Token.present and a required one needs no second
// scan of the payload; -1 for any other name.
func registeredClaim(name string) int {
	switch name {
	case "iss":
		return 0
	case "sub":
		return 1
	case "aud":
		return 2
	case "exp":
		return 3
	case "nbf":
		return 4
	case "iat":
		return 5
	case "jti":
		return 6
	}
	return -1
}

// requiredClaims is WithRequiredClaims split for validate: the registered
// claims as a mask of Token.present, the others by name.
type requiredClaims struct {
	registered uint8
	others     []string
}

func splitRequired(names []string) requiredClaims {
	var r requiredClaims
	for _, name := range names {
		if i := registeredClaim(name); i >= 0 {
			r.registered |= 1 << i
		} else if !slices.Contains(r.others, name) {
			r.others = append(r.others, name)
		}
	}
	return r
}
