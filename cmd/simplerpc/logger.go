package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// termHandler is a slog.Handler for people at a terminal: one record is
// "LEVEL message key=value ...", with a multi-line message (such as a
// server-side traceback) printed as is rather than quoted.
type termHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  slog.Level
	prefix string // prepended to every line
	attrs  []slog.Attr
	group  string
}

// newTermLogger returns a logger that writes records at level or above
// to w, each line starting with prefix.
func newTermLogger(w io.Writer, level slog.Level, prefix string) *slog.Logger {
	return slog.New(&termHandler{mu: new(sync.Mutex), w: w, level: level, prefix: prefix})
}

func (h *termHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *termHandler) Handle(_ context.Context, r slog.Record) error {
	// The attributes go on the first line; the rest of a multi-line
	// message follows unchanged.
	first, more, multi := strings.Cut(r.Message, "\n")
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(first)
	write := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fmt.Fprintf(&b, " %s=%v", key, a.Value.Resolve())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	if multi {
		b.WriteByte('\n')
		b.WriteString(more)
	}
	text := strings.TrimRight(b.String(), "\n")
	if h.prefix != "" {
		text = h.prefix + strings.ReplaceAll(text, "\n", "\n"+h.prefix)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, text+"\n")
	return err
}

func (h *termHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *termHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
