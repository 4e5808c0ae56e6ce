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
