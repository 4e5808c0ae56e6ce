package simplerpc

import (
	"testing"

	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// TestCodesAreTheErrorPackages checks that the codes spelled out in
// code.go are internal/rpcerr's, and that no code is missing.
func TestCodesAreTheErrorPackages(t *testing.T) {
	pairs := []struct{ root, pkg Code }{
		{CodeApplication, rpcerr.CodeApplication},
		{CodeNotFound, rpcerr.CodeNotFound},
		{CodeInvalidArgument, rpcerr.CodeInvalidArgument},
		{CodeInternal, rpcerr.CodeInternal},
		{CodeUnavailable, rpcerr.CodeUnavailable},
		{CodeConnectionLost, rpcerr.CodeConnectionLost},
		{CodeCanceled, rpcerr.CodeCanceled},
		{CodeDeadlineExceeded, rpcerr.CodeDeadlineExceeded},
		{CodeResourceExhausted, rpcerr.CodeResourceExhausted},
		{CodeUnauthenticated, rpcerr.CodeUnauthenticated},
		{CodePermissionDenied, rpcerr.CodePermissionDenied},
	}
	for _, p := range pairs {
		if p.root != p.pkg {
			t.Errorf("%s is %d in the root, %d in internal/rpcerr", p.pkg, p.root, p.pkg)
		}
	}
	if rpcerr.Known(Code(len(pairs) + 1)) {
		t.Errorf("internal/rpcerr knows a code past the %d the root declares", len(pairs))
	}
}
