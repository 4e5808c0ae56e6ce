package codec

import (
	"fmt"
	"math/bits"
)

// The bound on decoded size: OpenArray and Unmarshal refuse input whose
// estimated cost (see Array.Cost) exceeds CostRatio times its encoded size
// plus CostAllowance. Numbers, strings, byte strings and structs sent as maps
// with a few fields stay well under it (at most about 24 bytes of heap per
// encoded byte for arrays of small numbers, about 16 for structs whose field
// names and values are a few characters long); floods of empty arrays, empty
// byte strings or nearly empty maps (40 to 100 bytes of heap per encoded
// byte) are over it.
const (
	// CostRatio is the most heap bytes a value may cost per encoded byte.
	CostRatio = 32
	// CostAllowance is the cost every input may have whatever its size.
	CostAllowance = 64 << 10
)

// The cost model: the heap, in bytes, a value takes when decoded into any
// (the costliest destination: every element an interface, every number
// boxed, every map a map[string]any). TestCostCalibration checks it: it
// decodes arrays of 10,000 copies of each shape into any (go1.26, amd64)
// and compares the estimate with runtime.MemStats (TotalAlloc while
// decoding; HeapAlloc after a collection, with the values kept). Bytes per
// element, CBOR; JSON's live heap is the same unless noted:
//
//	0, nil, true, ""           16      an interface slot only
//	300, -5, 1.5               24      the slot and a boxed 8-byte number (JSON: 32)
//	"a", "abcde", 20 x "x"     32, 38, 56    the slot, a boxed string header, the bytes
//	h'01', 20 bytes            41, 64  the slot, a boxed slice header, the bytes
//	[], [0], [0,0], 8 x [nil]  40, 56, 72, 168    the slot, a boxed slice header, 16 a slot
//	{}; 1, 8, 9 pairs          72; 424, 648, 1008 (values "value", keys of 7 bytes)
//	time (tag 0), 2^100, 2^1000    64, 128, 240
//
// encoding/json grows a []any by appending, so up to twice its slots stay
// live, and boxes each float64 in 16 bytes. Maps are Go's swiss tables: a
// header, and once the map holds anything a table of groups of 8 slots of
// 32 bytes (a 288-byte size class) kept at most 7/8 full, the slot count a
// power of two. While decoding, encoding/json allocates up to 10 times the
// live heap in garbage (its scanner, slices outgrown); that is the
// collector's to reclaim and is not counted. The model over-estimates a
// little where Go saves a little (a number below 256 boxed, a one-byte
// string), never the other way by more than a few percent.
const (
	costSlot       = 16  // one element of a []any: an interface value
	costSlotJSON   = 32  // the same when encoding/json appends: up to twice the capacity
	costArray      = 24  // a []any's header boxed in an interface
	costMap        = 56  // an empty map[string]any
	costMapTable   = 32  // what a map holding anything adds beside its groups
	costMapSlot    = 36  // one slot of a map group (288 bytes per 8)
	costNumber     = 8   // a boxed int64, uint64 or float64
	costNumberJSON = 16  // a float64 boxed by encoding/json
	costString     = 16  // a string header boxed in an interface
	costBytes      = 24  // a []byte header boxed in an interface
	costTime       = 48  // a time.Time from tag 0 (RFC 3339 text) and the parse
	costEpochTime  = 32  // a time.Time from tag 1 (seconds since the epoch)
	costBignum     = 104 // a big.Int from tags 2 and 3, beside its words
)

// costData is the heap the bytes of a decoded string of n bytes take:
// nothing for one byte (Go keeps those strings static), else rounded up to
// the allocator's 8-byte granule.
func costData(n uint64) int64 {
	if n <= 1 {
		return 0
	}
	return int64((n + 7) &^ 7)
}

// costMapOf is the heap a map of n pairs takes, beside its keys' and
// values' own cost.
func costMapOf(n uint64) int64 {
	switch {
	case n == 0:
		return costMap
	case n <= 8:
		return costMap + costMapTable + 8*costMapSlot
	}
	slots := uint64(1) << bits.Len64((n*8+6)/7-1) // the power of two holding n at 7/8 full
	return costMap + costMapTable + int64(slots)*costMapSlot
}

// costBignumOf is the heap a JSON integer of the given number of decimal
// digits takes as a *big.Int in an interface: the header and its words
// (a decimal digit is log2(10) < 3.33 bits).
func costBignumOf(digits int) int64 {
	words := (int64(digits)*333/100 + 64) / 64
	return costBignum + 8*words
}

// checkCost refuses input of size bytes whose estimated cost is over the bound.
func checkCost(cost int64, size int) error {
	if limit := CostRatio*int64(size) + CostAllowance; cost > limit {
		return fmt.Errorf("%w: %d encoded bytes would decode to about %d bytes, over the bound of %d×size+%d",
			ErrLimit, size, cost, CostRatio, CostAllowance)
	}
	return nil
}
