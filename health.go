package simplerpc

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
)

// HealthMethod is the reserved name of the method every server answers
// with its Health: called with one string argument, a service name or ""
// for the server as a whole. Like DescribeMethod it cannot collide with a
// registered method; unlike it, it is always on. Over HTTP the same
// answer is served as GET /healthz (see Server.ServeHTTP).
const HealthMethod = "simplerpc.health"

// HealthStatus is what the health service reports of a server or one of
// its services.
type HealthStatus string

// The health statuses, as they travel.
const (
	// HealthServing says the server, or the service, takes calls.
	HealthServing HealthStatus = "SERVING"
	// HealthNotServing says it is not to be sent calls: SetServing turned
	// it off, or the server is shutting down.
	HealthNotServing HealthStatus = "NOT_SERVING"
	// HealthUnknown says the server has no service of that name.
	HealthUnknown HealthStatus = "SERVICE_UNKNOWN"
)

// Health is the answer of HealthMethod and of GET /healthz.
type Health struct {
	// Service is the service asked about; empty for the whole server.
	Service string `json:"service,omitempty"`
	// Status is its status.
	Status HealthStatus `json:"status"`
}

// healthState is what SetServing recorded. Its zero value serves: every
// registered service, and the server as a whole.
//
// Locks: mu guards off and sets, and is a leaf.
type healthState struct {
	mu   sync.Mutex      // guards the fields below; a leaf: nothing is locked under it
	off  bool            // SetServing("", false)
	sets map[string]bool // service -> serving, as SetServing set it
}

// SetServing sets the health status the server reports of service, or of
// the whole server when service is "": serving or not. A server reports
// SERVING until told otherwise, for itself and every registered service,
// and NOT_SERVING for all of them as soon as Shutdown or Close begins,
// whatever SetServing said. While the server as a whole is not serving,
// none of its services is. A service SetServing names is known to the
// health service even if it is not registered (to report a dependency,
// say); any other name is SERVICE_UNKNOWN.
//
// Health is what the server says of itself, for load balancers and
// orchestrators: calls keep being answered whatever it says. Clients
// made WithHealthCheck send new calls elsewhere while it says
// NOT_SERVING.
func (s *Server) SetServing(service string, serving bool) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if service == "" {
		h.off = !serving
		return
	}
	if h.sets == nil {
		h.sets = make(map[string]bool)
	}
	h.sets[service] = serving
}

// Health reports the health status of service, or of the whole server
// when service is "": what HealthMethod answers.
func (s *Server) Health(service string) Health {
	h := &s.health
	h.mu.Lock()
	off := h.off || s.stopping.Load()
	serving, set := h.sets[service]
	h.mu.Unlock()
	known := service == "" || set
	if !set {
		serving = true
	}
	if !known {
		_, services := s.dispatch.table()
		_, known = services[service]
	}
	switch {
	case !known:
		return Health{Service: service, Status: HealthUnknown}
	case off || !serving:
		return Health{Service: service, Status: HealthNotServing}
	}
	return Health{Service: service, Status: HealthServing}
}

// registerHealth adds HealthMethod to the method table. NewServer calls
// it.
func (s *Server) registerHealth() {
	fn := func(service string) Health { return s.Health(service) }
	m, err := newMethod(HealthMethod, reflect.ValueOf(fn), reflect.Value{})
	if err != nil {
		panic("simplerpc: " + err.Error()) // the signature is fixed
	}
	if err := s.dispatch.add("", map[string]*method{HealthMethod: m}); err != nil {
		panic(err) // only reserved names are in the table yet
	}
}

// Health asks the server for the health status of service, or of the
// whole server when service is "". The call goes through the client's
// balancer as any other; to ask one server, dial its address.
func (c *Client) Health(ctx context.Context, service string) (Health, error) {
	var h Health
	err := c.Call(ctx, HealthMethod, []any{service}, &h)
	return h, err
}

// healthPath is the path ServeHTTP answers health checks on.
const healthPath = "/healthz"

// serveHealth answers GET (or HEAD) /healthz and /healthz?service=NAME
// with the Health as JSON: status 200 when serving, 503 when not, 404
// for an unknown service. It reports whether r was such a request.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != healthPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	h := s.Health(r.URL.Query().Get("service"))
	status := http.StatusOK
	switch h.Status {
	case HealthNotServing:
		status = http.StatusServiceUnavailable
	case HealthUnknown:
		status = http.StatusNotFound
	}
	body, _ := json.Marshal(h) // a struct of strings: cannot fail
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = w.Write(append(body, '\n'))
	}
	return true
}
