//go:build race

package answertest

// RaceEnabled reports whether the race detector is on: it changes
// allocation counts (sync.Pool drops items at random), so allocation
// tests skip under it.
const RaceEnabled = true
