package simplerpc

import (
	"net/http"
	"strconv"
	"strings"
)

// corsPolicy is what WithCORS set: the origins whose pages may call the
// server from a browser. A nil policy (the default) sends no CORS
// headers, so browsers keep other origins' pages out.
type corsPolicy struct {
	any     bool            // "*" was given
	origins map[string]bool // origins given by name, in lower case
}

// corsMaxAge is how long, in seconds, a browser may keep a preflight's
// answer.
const corsMaxAge = 600

// newCORSPolicy returns the policy of the origins, or nil for none.
func newCORSPolicy(origins []string) *corsPolicy {
	if len(origins) == 0 {
		return nil
	}
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		switch o {
		case "":
		case "*":
			p.any = true
		default:
			p.origins[o] = true
		}
	}
	return p
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin
// and whether credentials may come with its requests; "" if the origin
// is not allowed.
func (p *corsPolicy) allowOrigin(origin string) (allow string, credentials bool) {
	switch {
	case p == nil || origin == "":
		return "", false
	case p.origins[strings.ToLower(origin)]:
		return origin, true
	case p.any:
		return "*", false
	}
	return "", false
}

// serveCORS applies the server's CORS policy (WithCORS) to r: it sets
// the headers that let an allowed origin's page read the response, and
// answers a preflight request (OPTIONS with Access-Control-Request-Method)
// itself. It reports whether r was answered.
func (s *Server) serveCORS(w http.ResponseWriter, r *http.Request) bool {
	p := s.cfg.cors
	if p == nil {
		return false
	}
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	allow, credentials := p.allowOrigin(origin)
	if !preflight {
		if allow != "" {
			hdr.Set("Access-Control-Allow-Origin", allow)
			if credentials {
				hdr.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		return false
	}
	hdr.Add("Vary", "Access-Control-Request-Method")
	hdr.Add("Vary", "Access-Control-Request-Headers")
	method := r.Header.Get("Access-Control-Request-Method")
	if allow == "" || (method != http.MethodPost && method != http.MethodGet && method != http.MethodHead) {
		http.Error(w, "simplerpc: cross-origin request not allowed", http.StatusForbidden)
		return true
	}
	hdr.Set("Access-Control-Allow-Origin", allow)
	if credentials {
		hdr.Set("Access-Control-Allow-Credentials", "true")
	}
	hdr.Set("Access-Control-Allow-Methods", "POST, GET, HEAD")
	// Every request header becomes call metadata: any may be sent. The
	// list is the browser's own, echoed (the "*" wildcard would not cover
	// Authorization).
	if h := r.Header.Get("Access-Control-Request-Headers"); h != "" {
		hdr.Set("Access-Control-Allow-Headers", h)
	}
	hdr.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	w.WriteHeader(http.StatusNoContent)
	return true
}
