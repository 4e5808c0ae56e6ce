//go:build !race

package codec

// raceEnabled reports a -race build, whose allocator (no tiny blocks)
// is not the one the cost model describes.
const raceEnabled = false
