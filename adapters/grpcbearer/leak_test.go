package grpcbearer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the suite's
// remote key source (answertest.KeysUnavailable), a server, a connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
