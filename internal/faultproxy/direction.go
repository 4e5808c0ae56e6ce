package faultproxy

// Direction names one or both directions of a proxied connection.
type Direction uint8

// The directions.
const (
	// Upstream is the direction from the client to the target.
	Upstream Direction = 1 << iota
	// Downstream is the direction from the target to the client.
	Downstream
	// Both is Upstream and Downstream together.
	Both = Upstream | Downstream
)

// String returns "upstream", "downstream" or "both".
func (d Direction) String() string {
	switch d {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	case Both:
		return "both"
	}
	return "none"
}

// each returns the indexes (0 upstream, 1 downstream) d covers.
func (d Direction) each() []int {
	var idx []int
	if d&Upstream != 0 {
		idx = append(idx, 0)
	}
	if d&Downstream != 0 {
		idx = append(idx, 1)
	}
	return idx
}
