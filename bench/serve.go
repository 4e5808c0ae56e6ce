package main

import (
	"net"
	"sync"
)

// serveConns accepts connections on ln and runs handle on each in its own
// goroutine. The returned stop closes ln and every open connection, then
// waits for all handlers to return.
func serveConns(ln net.Listener, handle func(net.Conn)) (stop func() error) {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[conn] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(conn)
				conn.Close()
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
			}()
		}
	}()
	return func() error {
		err := ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		return err
	}
}
