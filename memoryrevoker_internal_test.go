package bearer

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestSweepBoundsMemory: lapsed entries are removed by a later change, at
// most a sweep interval after they lapse, with no goroutine of their own.
// (List hides lapsed entries, so only the maps show it.)
func TestSweepBoundsMemory(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	now := t0
	r, err := NewMemoryRevoker(RevokerClock(func() time.Time { return now }), RevokerMaxTokenLifetime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		r.RevokeID(ctx, "iss", fmt.Sprint("j", i), t0.Add(time.Minute))
		r.RevokeSubject(ctx, "iss", fmt.Sprint("s", i), t0)
	}
	if len(r.ids) != 1000 || len(r.subjects) != 1000 {
		t.Fatalf("entries: %d ids, %d subjects", len(r.ids), len(r.subjects))
	}
	now = t0.Add(time.Hour + DefaultLeeway + time.Second) // all lapsed
	r.RevokeID(ctx, "iss", "fresh", now.Add(time.Minute))
	if len(r.ids) != 1 || len(r.subjects) != 0 {
		t.Errorf("after a sweep: %d ids, %d subjects; want 1, 0", len(r.ids), len(r.subjects))
	}
	// Within the interval, changes do not scan the list again.
	r.RevokeID(ctx, "iss", "short", now) // lapses a leeway from now
	now = now.Add(DefaultLeeway + time.Second)
	r.RevokeID(ctx, "iss", "fresh2", now.Add(time.Hour))
	if len(r.ids) != 3 {
		t.Errorf("sweep within the interval: %d ids, want 3", len(r.ids))
	}
	now = now.Add(sweepInterval)
	r.RevokeSubject(ctx, "iss", "s", now)
	if _, ok := r.ids[revocationKey{"iss", "short"}]; ok || len(r.ids) != 1 {
		t.Errorf("after the next sweep: %d ids, want 1 (fresh2)", len(r.ids))
	}
}
