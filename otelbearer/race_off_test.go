//go:build !race

package otelbearer_test

const raceEnabled = false
