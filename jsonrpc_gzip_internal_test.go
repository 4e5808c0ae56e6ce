package simplerpc

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// TestJSONRPCGzipBodyChargedDecompressed: the memory budget is charged
// for a gzip body as it decompresses: bodies of a few KiB that
// decompress to more than the budget can hold are refused with 503, the
// budget never over, and nothing stays charged.
func TestJSONRPCGzipBodyChargedDecompressed(t *testing.T) {
	const budget = minMemoryBudget
	srv, url := serveRPC(t, WithMemoryBudget(budget)) // the size limit, 16 MiB, is past the budget
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1,"pad":"`)
	_, _ = io.WriteString(zw, strings.Repeat(" ", 12<<20))
	_, _ = io.WriteString(zw, `"}`)
	_ = zw.Close()
	body := b.Bytes()
	stopWatch := watch(srv)
	hc := rpcClient(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r testResponse
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
				r.Error == nil || r.Error.Code != jsonrpc.CodeUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("%d-byte body: status %d, %+v, %v", len(body), resp.StatusCode, r.Error, err)
			}
		})
	}
	wg.Wait()
	peak, _ := stopWatch()
	if peak > budget {
		t.Errorf("budget in use reached %d, over its %d", peak, budget)
	}
	// The handlers give their charge back once they have discarded what
	// the clients sent after reading the answer.
	for deadline := time.Now().Add(5 * time.Second); srv.budget.inUse() != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still charged after the requests ended", n)
	}
}
