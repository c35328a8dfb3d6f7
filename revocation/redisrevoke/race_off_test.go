//go:build !race

package redisrevoke_test

const raceEnabled = false
