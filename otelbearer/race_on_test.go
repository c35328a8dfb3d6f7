//go:build race

package otelbearer_test

// raceEnabled: the race detector allocates now and then on its own, so
// allocation counts are not checked under it.
const raceEnabled = true
