package otelbearer_test

import (
	"context"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/otelbearer"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestRejectionAllocations: counting a rejection finds its attributes
// without building a key: the one allocation left is the SDK's own.
// Rejections are the path a flood of bad tokens drives.
func TestRejectionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not checked under the race detector")
	}
	obs, err := otelbearer.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	if err != nil {
		t.Fatal(err)
	}
	e := &bearer.Error{Code: bearer.CodeInvalidToken, Description: "token expired", Status: 401}
	ctx := context.Background()
	obs.TokenRejected(ctx, e)
	if n := testing.AllocsPerRun(100, func() { obs.TokenRejected(ctx, e) }); n > 1 {
		t.Fatalf("%v allocations per rejection, want at most 1", n)
	}
}
