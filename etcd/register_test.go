package etcd_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// follow starts resolving name and returns a function that waits for
// the next set of addresses.
func follow(t *testing.T, r simplerpc.Resolver, name string) func(want ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := r.Resolve(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch { // closed once the resolver stops
		}
	})
	return func(want ...string) {
		t.Helper()
		slices.Sort(want)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case got, ok := <-ch:
				if !ok {
					t.Fatal("resolver closed its channel early")
				}
				if slices.Equal(got, want) || (len(got) == 0 && len(want) == 0) {
					return
				}
				t.Logf("set %v, waiting for %v", got, want)
			case <-timeout:
				t.Fatalf("no set %v within 10s", want)
			}
		}
	}
}

func register(t *testing.T, cli *clientv3.Client, name, addr string, opts ...etcd.Option) *etcd.Registration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg, err := etcd.Register(ctx, cli, name, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestRegisterResolveClose(t *testing.T) {
	e := startEtcd(t)
	cli := e.client(t)
	next := follow(t, etcd.NewResolver(cli), "calc")
	next() // nothing registered yet

	a := register(t, cli, "calc", "127.0.0.1:1001")
	next("127.0.0.1:1001")
	if a.Key() != "/simplerpc/calc/127.0.0.1:1001" {
		t.Errorf("key %q", a.Key())
	}
	other := register(t, cli, "calc2", "127.0.0.1:2001") // another name: not calc's
	defer other.Close()
	b := register(t, cli, "calc", "127.0.0.1:1002")
	next("127.0.0.1:1001", "127.0.0.1:1002")

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	next("127.0.0.1:1002")
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	next()
	resp, err := cli.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Leases) != 1 { // the other name's
		t.Errorf("%d leases left, want 1: Close must revoke its lease", len(resp.Leases))
	}
}

func TestCrashedServerVanishesAfterTTL(t *testing.T) {
	e := startEtcd(t)
	next := follow(t, etcd.NewResolver(e.client(t)), "etcd:///calc")
	next()
	own := e.newClient() // the crashing process's client
	reg := register(t, own, "calc", "127.0.0.1:1001", etcd.WithTTL(2*time.Second))
	next("127.0.0.1:1001")
	time.Sleep(2500 * time.Millisecond) // longer than the TTL: renewals keep it
	own.Close()                         // the process dies: no renewal, no revocation
	crashed := time.Now()
	next()
	if d := time.Since(crashed); d > 5*time.Second {
		t.Errorf("the key outlived its 2s lease by %v", d)
	}
	if err := reg.Close(); err == nil {
		t.Error("Close with a closed etcd client succeeded")
	}
}

func TestRegistrationRewritesALostLease(t *testing.T) {
	e := startEtcd(t)
	cli := e.client(t)
	next := follow(t, etcd.NewResolver(cli), "calc")
	next()
	reg := register(t, cli, "calc", "127.0.0.1:1001", etcd.WithTTL(2*time.Second))
	defer reg.Close()
	next("127.0.0.1:1001")
	// The lease runs out while the server lives (etcd was out of reach
	// for longer than the TTL, say): the key goes, and comes back.
	resp, err := cli.Get(context.Background(), reg.Key())
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v %v", reg.Key(), resp, err)
	}
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	next()
	next("127.0.0.1:1001")
}

func TestWithPrefix(t *testing.T) {
	e := startEtcd(t)
	cli := e.client(t)
	next := follow(t, etcd.NewResolver(cli, etcd.WithPrefix("/services")), "calc")
	next()
	plain := register(t, cli, "calc", "127.0.0.1:1001") // default prefix: not seen
	defer plain.Close()
	reg := register(t, cli, "calc", "127.0.0.1:1002", etcd.WithPrefix("/services/"))
	defer reg.Close()
	if reg.Key() != "/services/calc/127.0.0.1:1002" {
		t.Errorf("key %q", reg.Key())
	}
	next("127.0.0.1:1002")
}

func TestMalformedNamesAndAddresses(t *testing.T) {
	ctx := context.Background()
	r := etcd.NewResolver(nil)
	for _, name := range []string{"", "a/b", "etcd:///", "with space"} {
		if _, err := r.Resolve(ctx, name); err == nil {
			t.Errorf("Resolve(%q) succeeded", name)
		}
		if _, err := etcd.Register(ctx, nil, name, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "name") {
			t.Errorf("Register(name %q): %v", name, err)
		}
	}
	for _, addr := range []string{"", "127.0.0.1", ":9000", "host:"} {
		if _, err := etcd.Register(ctx, nil, "calc", addr); err == nil {
			t.Errorf("Register(addr %q) succeeded", addr)
		}
	}
}

// ExampleRegister registers a server under "calc" and dials the name.
func ExampleRegister() {
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	// Server side: listen, serve, then register; leave in the reverse
	// order.
	l, err := net.Listen("tcp", "10.0.0.7:9000")
	if err != nil {
		panic(err)
	}
	srv := simplerpc.NewServer()
	go srv.Serve(l)
	reg, err := etcd.Register(ctx, cli, "calc", "10.0.0.7:9000")
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown(ctx) // then finish the calls in flight
	defer reg.Close()       // first: clients stop sending new calls here

	// Client side: one name, every registered server.
	c, err := simplerpc.Dial(ctx, "calc", simplerpc.WithResolver(etcd.NewResolver(cli)))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var sum int
	err = c.Call(ctx, "Calc.Add", []any{1, 2}, &sum)
	fmt.Println(sum, err)
}
