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
//	{<prefix>}id:<len(iss)>:<iss>:<jti>   value: the token's exp
//	{<prefix>}sub:<len(iss)>:<iss>:<sub>  value: the cut-off
//
// Times are Unix microseconds, rounded up: exact in Lua's doubles, and a
// rounded cut-off or expiry is never earlier than the one asked for. The
// issuer's length makes the name unambiguous whatever the claims contain.
// The braces are a hash tag: on a Redis Cluster the whole list and its
// channel share one hash slot, so that a change and its message are one
// script on one master (SPUBLISH needs its channel in the slot of the
// keys), and the list loads from that master alone.
//
// Unrevoke does not delete the key: it leaves a tombstone, the value with a
// minus sign, until the entry would have expired. An instance that held the
// entry while it was away from Redis then knows it was removed on purpose,
// and does not put it back as it puts back entries Redis lost.
//
// Every change is published on {<prefix>}events as "+<value> <name>" or
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

// timesOf returns what an entry's key holds and when the entry expires:
// the token's exp twice, or the cut-off and the cut-off plus the lifetime.
func timesOf(rev bearer.Revocation) (at, expires time.Time) {
	if rev.Subject != "" {
		return rev.Before, rev.Expires
	}
	return rev.Expires, rev.Expires
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
	if !ok || err != nil || us <= 0 { // a tombstone is no entry
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

// find returns the entry called name in view, if it holds one.
func find(ctx context.Context, view *bearer.MemoryRevoker, name string) (bearer.Revocation, bool) {
	kind, issuer, id, ok := parseName(name)
	if !ok {
		return bearer.Revocation{}, false
	}
	list, _ := view.List(ctx)
	for _, rev := range list {
		if rev.Issuer == issuer && (kind == kindID && rev.TokenID == id || kind == kindSubject && rev.Subject == id) {
			return rev, true
		}
	}
	return bearer.Revocation{}, false
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
// cut-off covers an earlier one), and publishes the change, atomically. A
// tombstone is overwritten by a revocation, but not by a restore (the fifth
// argument) of an entry no later than the one removed.
//
//	KEYS[1] the entry's key, KEYS[2] the channel
//	ARGV: value, expiry (Unix ms), message, publish command, "restore" or ""
var revokeScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '')
if cur then
	if cur < 0 and ARGV[5] == 'restore' then cur = -cur end
	if cur >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call(ARGV[4], KEYS[2], ARGV[3])
return 1
`)

// unrevokeScript replaces an entry by its tombstone and publishes the
// removal, atomically. The tombstone records the later of Redis's entry and
// this instance's (which Redis may have lost), so that no instance puts
// either back.
//
//	KEYS[1] the entry's key, KEYS[2] the channel
//	ARGV: message, publish command, this instance's value and expiry (Unix ms), or "" ""
var unrevokeScript = redis.NewScript(`
local raw = redis.call('GET', KEYS[1])
local cur = tonumber(raw or '')
local mine = tonumber(ARGV[3])
if mine and (not cur or math.abs(cur) < mine) then
	redis.call('SET', KEYS[1], '-' .. ARGV[3], 'PXAT', ARGV[4])
elseif cur and cur > 0 then
	redis.call('SET', KEYS[1], '-' .. raw, 'KEEPTTL')
end
redis.call(ARGV[2], KEYS[2], ARGV[1])
return 1
`)
