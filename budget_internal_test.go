package simplerpc

import (
	"runtime"
	"testing"
)

// TestFreedMemoryCountsUntilCollected checks what the budget does with
// memory given back in bulk (a session's kept replies when it ends): it
// counts against the limit until the collector has run, so that new
// calls do not take it while it still fills the heap.
func TestFreedMemoryCountsUntilCollected(t *testing.T) {
	b := &memBudget{limit: 100}
	b.take(80)
	b.giveFreed(80)
	if got := b.inUse(); got != 80 {
		t.Fatalf("just after giveFreed: in use %d, want 80 (freed, not yet collected)", got)
	}
	if b.tryTake(30) {
		t.Fatal("a reservation took memory the collector has not reclaimed yet")
	}
	runtime.GC()
	runtime.GC()
	if got := b.inUse(); got != 0 {
		t.Fatalf("after two collections: in use %d, want 0", got)
	}
	if !b.tryTake(30) {
		t.Fatal("a reservation was refused after the freed memory was collected")
	}
}
