package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
)

// A stream request (POST /api/stream) takes the body of a call, plus the
// items to send for a method that receives a stream, and answers with
// NDJSON: a streamOpen line once the server says the stream is open, one
// streamItem line per item the method yields, each written and flushed
// as it arrives, then one streamEnd line. The handler holds one
// item at a time: the page's reading paces the stream, through the
// stream's flow control, back to the server. The page ending the request
// (its Stop button, or closing the tab) cancels the stream on the
// server.

// streamOpen is the first line of the answer to a stream request whose
// stream opened.
type streamOpen struct {
	Open bool `json:"open"`
	// Ms is when the server said the stream is open, in milliseconds
	// since it was opened.
	Ms float64 `json:"ms"`
}

// streamItem is a line of the answer to a stream request: one item.
type streamItem struct {
	// N counts the items, from 1.
	N int64 `json:"n"`
	// Ms is when the item arrived, in milliseconds since the stream was
	// opened.
	Ms float64 `json:"ms"`
	// Item is the item as JSON text, as the server sent it: the page
	// shows it as is (parsing it in JavaScript would round large
	// integers).
	Item string `json:"item"`
}

// streamEnd is the last line of the answer to a stream request.
type streamEnd struct {
	End bool `json:"end"`
	// Items counts the items received; Sent those sent.
	Items int64 `json:"items"`
	Sent  int64 `json:"sent"`
	// Results and Pretty are the method's results after its stream, as
	// for a call.
	Results []json.RawMessage `json:"results,omitempty"`
	Pretty  string            `json:"pretty,omitempty"`
	// Error is what the stream ended with, if it failed: the error the
	// method's iterator yielded, its panic, a timeout, a stop.
	Error *callError `json:"error,omitempty"`
	// FirstMs is when the first item arrived; DurationMs is how long
	// the whole stream took, in milliseconds since it was opened.
	FirstMs    float64 `json:"firstMs,omitempty"`
	DurationMs float64 `json:"durationMs"`
}

const ndjson = "application/x-ndjson"

// stream opens the stream a request asks for and relays it.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	if !isJSON(w, r) {
		return
	}
	w.Header().Set("Content-Type", ndjson)
	w.Header().Set("Cache-Control", "no-store")
	var req callRequest
	if err := decodeRequest(w, r, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeLine(w, streamEnd{End: true, Error: &callError{Code: "local", Message: err.Error()}})
		return
	}
	ctx, cancel := h.callContext(r.Context(), req)
	defer cancel()
	end := h.relay(ctx, w, req)
	outcome := "ok"
	if end.Error != nil {
		outcome = end.Error.Code
	}
	h.opts.Logger.Debug("console: stream ended", "method", req.Method, "outcome", outcome,
		"items", end.Items, "sent", end.Sent, "duration_ms", end.DurationMs)
	writeLine(w, end)
}

// relay opens req's stream, sends its items, writes the items it
// yields to w as they arrive, and returns how it ended. It returns when
// the stream is over; the goroutine sending the items has ended by then.
func (h *Handler) relay(ctx context.Context, w http.ResponseWriter, req callRequest) streamEnd {
	n, receives := 0, len(req.Items) > 0
	d, err := h.c.Describe(ctx)
	switch {
	case err == nil:
		if m := d.Method(req.Method); m != nil {
			if m.Stream == nil {
				return streamEnd{End: true, Error: &callError{Code: "local", Method: req.Method,
					Message: req.Method + " does not stream: call it with /api/call"}}
			}
			n, receives = len(m.Results), m.Stream.Kind != "server"
		}
	case errors.Is(err, &simplerpc.Error{Code: simplerpc.CodeNotFound}):
	default:
		return streamEnd{End: true, Error: errorOf(err)}
	}
	args := make([]any, len(req.Params))
	for i, p := range req.Params {
		args[i] = p
	}
	start := time.Now()
	since := func() float64 { return float64(time.Since(start).Microseconds()) / 1000 }
	s, err := h.c.OpenStream(ctx, req.Method, args...)
	if err != nil {
		return streamEnd{End: true, Error: errorOf(err), DurationMs: since()}
	}
	defer s.Close()
	rc := http.NewResponseController(w)
	if err := s.Opened(); err != nil {
		return streamEnd{End: true, Error: errorOf(err), DurationMs: since()}
	}
	writeLine(w, streamOpen{Open: true, Ms: since()})
	_ = rc.Flush() // an error is the page gone, which the request's context says

	// The items are sent in a goroutine of this request while the
	// server's come back here: a bidi method may wait for its answers to
	// be read before it takes more. s.Close ends a Send that waits.
	sent := make(chan int64, 1)
	if receives {
		go func() {
			var k int64
			defer func() { sent <- k }()
			for _, it := range req.Items {
				if s.Send(it) != nil {
					return // the stream is over: Recv or Finish says why
				}
				k++
			}
			_ = s.CloseSend()
		}()
	} else {
		sent <- 0
	}

	end := streamEnd{End: true}
	var item json.RawMessage
	for {
		item = item[:0]
		err = s.Recv(&item)
		if err != nil {
			break
		}
		end.Items++
		ms := since()
		if end.Items == 1 {
			end.FirstMs = ms
		}
		writeLine(w, streamItem{N: end.Items, Ms: ms, Item: string(item)})
		if rc.Flush() != nil {
			err = &simplerpc.Error{Code: simplerpc.CodeCanceled, Method: req.Method, Message: "the page stopped reading the stream"}
			break
		}
	}
	if err != io.EOF {
		s.Close() // cancels the stream on the server, and ends the sender
		end.Sent = <-sent
		end.Error, end.DurationMs = errorOf(err), since()
		return end
	}
	end.Sent = <-sent
	results := make([]json.RawMessage, n)
	ptrs := make([]any, n)
	for i := range results {
		ptrs[i] = &results[i]
	}
	err = s.Finish(ptrs...)
	end.DurationMs = since()
	if err != nil {
		end.Error = errorOf(err)
		return end
	}
	end.Results, end.Pretty = results, pretty(results)
	return end
}

// isJSON reports whether r's body is JSON, refusing the request if not.
func isJSON(w http.ResponseWriter, r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "simplerpc console: a call is sent as application/json", http.StatusUnsupportedMediaType)
		return false
	}
	return true
}

// writeLine writes v as one line of NDJSON. An error writing is the
// page gone, which the next flush reports.
func writeLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"end":true,"error":{"code":"local","message":"cannot encode the answer"}}`)
	}
	_, _ = w.Write(append(b, '\n'))
}
