package reliability_test

import (
	"context"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// The hijack against a server with a session identity hook: the attacker
// holds a valid token of its own, which names someone else.
func init() {
	hijackCases = append(hijackCases, hijackCase{
		name: "identity hook",
		setup: func(*testing.T) attackSetup {
			return attackSetup{opts: []simplerpc.ServerOption{simplerpc.WithSessionIdentity(tokenIdentity)}, goodMD: goodToken}
		},
		victimMD:   []string{"authorization", "Bearer victim-token"},
		attackerMD: []string{"authorization", "Bearer attacker-token"},
		codes:      []int{codePermissionDenied},
	})
}

// tokenIdentity is whom a call's token names.
func tokenIdentity(_ context.Context, info *simplerpc.CallInfo) (string, error) {
	user := tokenUser(info.Metadata.Get("authorization"))
	if user == "" {
		return "", &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "no valid token"}
	}
	return user, nil
}
