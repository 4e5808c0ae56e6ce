package etcd_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every etcd and
// simplerpc client and server a test makes is closed by its end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
