package bearertest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a Server's
// listener and connections, a request held by Hang.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
