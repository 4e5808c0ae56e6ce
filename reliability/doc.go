// Package reliability holds the reliability and security tests of
// simplerpc; it has no code of its own.
//
// Its tests put internal/faultproxy between real clients and servers and
// check, for every fault, that every call returns exactly once with the
// right result or the right code, that no call runs twice, that no
// goroutine leaks and that memory returns to its baseline. They hold a
// load of 1,000 clients, and throw hostile input at a live server over
// the native protocol and over JSON-RPC.
//
// The default run (go test -race ./reliability) stays within about two
// minutes on two cores, half of it the attack tests' short form. Flags, after -args:
//
//	-report FILE      write the measured results as markdown (RELIABILITY.md);
//	                  written only if every test passed
//	-soak DURATION    also run the soak test for that long, sampling memory
//	-load.clients N   clients of the load test (default 1000)
//	-load.duration D  how long the load test calls (default 2s)
//	-attack.full      run the attack tests (attack_*_test.go) at the sizes
//	                  of the security review, not their short form
//
// RELIABILITY.md at the repository root is generated with
//
//	go test -race -count=1 ./reliability -args -report ../RELIABILITY.md
package reliability
