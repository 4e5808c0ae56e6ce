package simplerpc

import (
	"testing"
	"time"
)

// TestRunCost checks the method cost that decides which calls the reader
// runs itself: unknown until sampled, slow at once after one long call,
// quick again only after a run of quick ones.
func TestRunCost(t *testing.T) {
	var c runCost
	if c.quick() {
		t.Fatal("a method never timed is quick")
	}
	c.observe(time.Microsecond)
	if !c.quick() {
		t.Fatal("a method timed at 1µs is not quick")
	}
	c.observe(time.Millisecond)
	if c.quick() {
		t.Fatal("a method still quick after a 1ms call")
	}
	n := 0
	for ; !c.quick(); n++ {
		if n > 1000 {
			t.Fatal("a method never quick again after 1000 quick calls")
		}
		c.observe(time.Microsecond)
	}
	if n < 10 {
		t.Fatalf("quick again after %d quick calls: one long call should weigh more", n)
	}
}

// TestRunCostPreempted checks that a quick method's call that took far
// longer on the wall clock (preempted on a busy machine) makes it slow,
// but for no longer than a call of maxCostSample would.
func TestRunCostPreempted(t *testing.T) {
	back := func(long time.Duration) int {
		var c runCost
		for range 64 {
			c.observe(time.Microsecond)
		}
		c.observe(long)
		if c.quick() {
			t.Fatalf("a method still quick after a %v call", long)
		}
		n := 0
		for ; !c.quick(); n++ {
			c.observe(time.Microsecond)
		}
		return n
	}
	if a, b := back(20*time.Millisecond), back(maxCostSample); a != b {
		t.Fatalf("quick again after %d quick calls following a 20ms call, %d following one of %v", a, b, maxCostSample)
	}
}
