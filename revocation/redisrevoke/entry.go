package redisrevoke

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/redis/go-redis/v9"
)

// How entries are kept in Redis. Each entry is one string key, so that
// Redis expires it with its tokens (PXAT):
//
//	<prefix>id:<len(iss)>:<iss>:<jti>   value: the token's exp
//	<prefix>sub:<len(iss)>:<iss>:<sub>  value: the cut-off
//
// Times are Unix microseconds, rounded up: exact in Lua's doubles, and a
// rounded cut-off or expiry is never earlier than the one asked for. The
// issuer's length makes the name unambiguous whatever the claims contain.
//
// Every change is published on <prefix>events as "+<value> <name>" or
// "-<name>", name being the key without the prefix. A message says all
// there is to know of the entry, so applying messages in order after a
// snapshot of the keys gives the same list as Redis holds.

const (
	kindID      = "id"
	kindSubject = "sub"
)

// name returns the key of an entry without the prefix.
func name(kind, issuer, id string) string {
	return kind + ":" + strconv.Itoa(len(issuer)) + ":" + issuer + ":" + id
}

// nameOf returns the name of the entry rev names, as Unrevoke takes it.
func nameOf(rev bearer.Revocation) (string, error) {
	switch {
	case rev.TokenID != "" && rev.Subject != "":
		return "", errBothNames
	case rev.TokenID != "":
		return name(kindID, rev.Issuer, rev.TokenID), nil
	case rev.Subject != "":
		return name(kindSubject, rev.Issuer, rev.Subject), nil
	}
	return "", errNoName
}

// parseName undoes name.
func parseName(s string) (kind, issuer, id string, ok bool) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || kind != kindID && kind != kindSubject {
		return "", "", "", false
	}
	n, rest, ok := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || size >= len(rest) || rest[size] != ':' {
		return "", "", "", false
	}
	issuer, id = rest[:size], rest[size+1:]
	return kind, issuer, id, id != ""
}

// micros returns t in Unix microseconds, rounded up.
func micros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// add puts the entry called name with value into view.
func add(ctx context.Context, view *bearer.MemoryRevoker, name, value string) bool {
	kind, issuer, id, ok := parseName(name)
	us, err := strconv.ParseInt(value, 10, 64)
	if !ok || err != nil {
		return false
	}
	at := time.UnixMicro(us)
	if kind == kindID {
		err = view.RevokeID(ctx, issuer, id, at)
	} else {
		err = view.RevokeSubject(ctx, issuer, id, at)
	}
	return err == nil
}

// remove deletes the entry called name from view.
func remove(ctx context.Context, view *bearer.MemoryRevoker, name string) bool {
	kind, issuer, id, ok := parseName(name)
	if !ok {
		return false
	}
	rev := bearer.Revocation{Issuer: issuer, TokenID: id}
	if kind == kindSubject {
		rev = bearer.Revocation{Issuer: issuer, Subject: id}
	}
	return view.Unrevoke(ctx, rev) == nil
}

// apply applies a published change to view.
func apply(ctx context.Context, view *bearer.MemoryRevoker, msg string) bool {
	if rest, ok := strings.CutPrefix(msg, "-"); ok {
		return remove(ctx, view, rest)
	}
	rest, ok := strings.CutPrefix(msg, "+")
	value, name, ok2 := strings.Cut(rest, " ")
	return ok && ok2 && add(ctx, view, name, value)
}

// revokeScript sets an entry unless it holds a later time already (a later
// cut-off covers an earlier one), and publishes the change, atomically.
//
//	KEYS[1] the entry's key; ARGV: value, expiry (Unix ms), channel, message
var revokeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) and tonumber(cur) >= tonumber(ARGV[1]) then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`)
