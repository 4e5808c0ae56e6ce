package reliability_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/simplerpc/simplerpc"
)

// Compression bombs (PROTOCOL.md §14): frames a few bytes long on the
// wire that decode to the message limit or past it, from many
// connections at once.

// The compression flags of the hello, the welcome and a frame.
const (
	helloCompress   = 1 << 4
	welcomeCompress = 1 << 3
	flagCompressed  = 1 << 6
)

// zstdFrame compresses body into one zstd frame that declares its content
// size, as PROTOCOL.md §14 asks.
func zstdFrame(t testing.TB, body []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(true), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(body, nil)
}

// compressedCall is a call frame of method, without metadata, whose body
// — method, timeout and args — is compressed.
func compressedCall(t testing.TB, id uint64, method string, args []byte) []byte {
	plain := callFrame(id, method, 0, args)
	z := zstdFrame(t, plain[14:])
	return append(frameHeader(uint32(len(z)), kindCall, flagCompressed, id), z...)
}

// anyBytesCall is a compressed call of Victim.Any with a byte string of
// zeros, the whole body decoding to size bytes.
func anyBytesCall(t testing.TB, id uint64, size int) []byte {
	head := len(callFrame(0, "Victim.Any", 0, nil)) - 14 + 1 + 5 // the body before the bytes: call prefix, array head, byte string head
	n := uint64(size - head)
	args := append(append(cborArray(), cborBytesHead(n)...), make([]byte, n)...)
	args[0] = 0x81 // an array of one
	f := compressedCall(t, id, "Victim.Any", args)
	if got := zstdContentSize(f[14:]); got != uint64(size) {
		t.Fatalf("the call decodes to %d bytes, want %d", got, size)
	}
	return f
}

// zstdContentSize is the content size a zstd frame declares.
func zstdContentSize(z []byte) uint64 {
	var h zstd.Header
	if err := h.Decode(z); err != nil || !h.HasFCS {
		return 0
	}
	return h.FrameContentSize
}

// dialCompressed opens a connection whose hello asks for compression and
// checks that the welcome grants it.
func (a *attackRun) dialCompressed() (net.Conn, error) {
	nc, w, err := a.dialHello(net.Dialer{}, "cbor", helloCompress, sessionID{})
	if err != nil {
		return nil, err
	}
	if w.status != 0 || w.flags&welcomeCompress == 0 {
		return nil, fmt.Errorf("welcome status %d flags %#x: compression not granted", w.status, w.flags)
	}
	return nc, nil
}

// compressedRefused matches the log line of a connection closed for a
// compressed frame it refused.
var compressedRefused = regexp.MustCompile(`compressed call frame .*refused`)

// TestAttackCompressionBombs sends, from many connections at once, small
// compressed frames that declare a body past the message limit, and frames
// that decode to just under it: the first must close their connections,
// each with a logged reason, before anything is decoded; the second must
// not hold more than the memory budget however many arrive at once.
func TestAttackCompressionBombs(t *testing.T) {
	// A 4 MiB message limit, a sixteenth of the short form's budget, so
	// that the 64 connections of the full form could each hold one
	// decoded body four times over the budget if nothing stopped them.
	limit := 4 << 20
	setup := attackSetup{budget: attackBudget(), opts: []simplerpc.ServerOption{
		simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize), simplerpc.WithMaxMessageSize(limit)}}
	t.Run("past the limit", func(t *testing.T) {
		conns := attackSize(64, 512)
		as := startAttackServer(t, setup)
		bomb := anyBytesCall(t, 1, limit+1)
		name := fmt.Sprintf("%d connections at once, each a compressed frame of %s declaring %s, over the %s limit", conns, byteCount(int64(len(bomb))), byteCount(int64(limit+1)), byteCount(int64(limit)))
		as.attack(t, name, 60*time.Second, func(a *attackRun) string {
			mark := as.logs.count()
			var closed, open atomic.Int64
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					nc, err := a.dialCompressed()
					if err != nil {
						a.t.Error(err)
						return
					}
					if _, err := nc.Write(bomb); err != nil {
						a.t.Errorf("sending the bomb: %v", err)
						return
					}
					if how, _, err := awaitClose(nc, 10*time.Second); err != nil {
						open.Add(1)
						a.t.Errorf("%s: %v", how, err)
						return
					}
					closed.Add(1)
				})
			}
			wg.Wait()
			time.Sleep(50 * time.Millisecond) // the last closes are logged
			logged := as.logs.matching(mark, compressedRefused)
			// The server's log is rate-limited: the first closes are logged,
			// the rest counted as suppressed.
			if closed.Load() > 0 && logged == 0 {
				a.t.Errorf("%d connections closed, no log line saying why", closed.Load())
			}
			return fmt.Sprintf("%d closed, %d still open; %d log lines saying why", closed.Load(), open.Load(), logged)
		})
	})
	t.Run("just under the limit", func(t *testing.T) {
		conns, rounds := attackSize(24, 64), attackSize(4, 10)
		as := startAttackServer(t, setup)
		size := limit - 64
		frames := make([][]byte, rounds)
		for i := range frames {
			frames[i] = anyBytesCall(t, uint64(i+1), size)
		}
		name := fmt.Sprintf("%d connections at once, each %d compressed frames of %s decoding to %s", conns, rounds, byteCount(int64(len(frames[0]))), byteCount(int64(size)))
		as.attack(t, name, 90*time.Second, func(a *attackRun) string {
			var ok, refused, other atomic.Int64
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					nc, err := a.dialCompressed()
					if err != nil {
						a.t.Error(err)
						return
					}
					for _, f := range frames { // all at once: the server reads them one after the other
						if _, err := nc.Write(f); err != nil {
							a.t.Errorf("sending a frame: %v", err)
							return
						}
					}
					for range frames {
						r, err := nextReply(nc)
						if err != nil {
							if !a.stopped() {
								a.t.Errorf("reply: %v", err)
							}
							return
						}
						switch code, _ := errorCode(r.body, "cbor"); {
						case r.flags&flagError == 0:
							ok.Add(1)
						case code == int(simplerpc.CodeUnavailable): // the budget is spent: "server busy"
							refused.Add(1)
						default:
							other.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if other.Load() > 0 {
				a.t.Errorf("%d calls answered with an unexpected error", other.Load())
			}
			return fmt.Sprintf("%d calls answered, %d refused with unavailable (the budget spent), %d other errors", ok.Load(), refused.Load(), other.Load())
		})
	})
}

// Uniform checks, after holding b for ms milliseconds, that every byte of
// b is still the one it began with: a []byte argument must be the call's
// own while it runs, whatever arrives meanwhile on other connections.
func (v *Victim) Uniform(b []byte, ms int) bool {
	if len(b) == 0 {
		return true
	}
	first := b[0]
	time.Sleep(time.Duration(min(max(ms, 0), 1000)) * time.Millisecond)
	for _, c := range b {
		if c != first {
			return false
		}
	}
	return true
}

// uniformCall is a compressed call of Victim.Uniform with n bytes c.
func uniformCall(t testing.TB, id uint64, c byte, n, ms int) []byte {
	bs := make([]byte, n)
	for i := range bs {
		bs[i] = c
	}
	args := cborArray(append(cborBytesHead(uint64(n)), bs...), cborUint(uint64(ms)))
	return compressedCall(t, id, "Victim.Uniform", args)
}

// TestAttackCompressedArgumentsOwned sends, on many connections at once,
// compressed calls whose []byte argument is larger than the reader pools
// (MaxPooledBody), each held by the method while the others arrive: no
// call may see its argument changed by a frame decoded after it.
func TestAttackCompressedArgumentsOwned(t *testing.T) {
	conns, rounds := attackSize(8, 32), attackSize(4, 16)
	as := startAttackServer(t, attackSetup{opts: []simplerpc.ServerOption{simplerpc.WithCompression(simplerpc.DefaultCompressionMinSize)}})
	const size = 2 << 20
	name := fmt.Sprintf("%d connections × %d compressed calls holding a %s []byte argument", conns, rounds, byteCount(size))
	// Each connection's frame, built before the attack, so that the
	// heap sampled is the server's; ids are set as they are sent.
	frames := make([][]byte, conns)
	for c := range frames {
		frames[c] = uniformCall(t, 1, byte('A'+c), size, 50)
	}
	as.attack(t, name, 60*time.Second, func(a *attackRun) string {
		var same, changed atomic.Int64
		var wg sync.WaitGroup
		for c := range conns {
			wg.Go(func() {
				nc, err := a.dialCompressed()
				if err != nil {
					a.t.Error(err)
					return
				}
				f := bytes.Clone(frames[c])
				for i := range rounds {
					binary.BigEndian.PutUint64(f[6:], uint64(i+1))
					if _, err := nc.Write(f); err != nil {
						if a.stopped() {
							return
						}
						a.t.Errorf("sending a call: %v", err)
						return
					}
				}
				for range rounds {
					r, err := nextReply(nc)
					if err != nil {
						if !a.stopped() {
							a.t.Errorf("reply: %v", err)
						}
						return
					}
					switch {
					case r.flags&flagError != 0:
						a.t.Errorf("error reply % x", r.body)
					case len(r.body) == 2 && r.body[1] == 0xf5: // [true]
						same.Add(1)
					default:
						changed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if changed.Load() > 0 {
			a.t.Errorf("%d of %d calls saw their []byte argument change while they ran", changed.Load(), same.Load()+changed.Load())
		}
		return fmt.Sprintf("%d calls saw their argument unchanged, %d changed", same.Load(), changed.Load())
	})
}
