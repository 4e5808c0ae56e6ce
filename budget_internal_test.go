package simplerpc

import (
	"runtime"
	"testing"
	"time"
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

// TestReservationInTheWayOfFreedMemoryCollects checks that a reservation
// refused only for memory given back in bulk and not yet collected has
// the collector run, so that the budget does not stay spent for garbage
// until the heap grows enough for the runtime to collect on its own.
func TestReservationInTheWayOfFreedMemoryCollects(t *testing.T) {
	b := &memBudget{limit: 100}
	b.take(80)
	b.giveFreed(80)
	if b.tryTake(50) {
		t.Fatal("a reservation took memory the collector has not reclaimed yet")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.tryTake(50) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the freed memory still counts: in use %d", b.inUse())
		}
		time.Sleep(time.Millisecond)
	}
	for b.collecting.Load() { // the collection asked for has ended
		time.Sleep(time.Millisecond)
	}
	if got := b.inUse(); got != 50 {
		t.Fatalf("in use %d, want the 50 reserved", got)
	}
	b.give(50)
	b.take(200) // over the limit on its own: no collection helps
	before := b.collectAfter.Load()
	if b.tryTake(1) || b.collecting.Load() || b.collectAfter.Load() != before {
		t.Fatal("a reservation refused by memory in use, not freed, asked for a collection")
	}
}
