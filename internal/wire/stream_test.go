package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestPackedItems(t *testing.T) {
	items := [][]byte{{0x01}, bytes.Repeat([]byte{7}, 200), {0x18, 0x64}}
	var body []byte
	for _, it := range items {
		body = AppendPacked(body, it)
	}
	sum, err := CheckPacked(body)
	if err != nil {
		t.Fatal(err)
	}
	want := PackedSummary{Items: 3, Cost: ItemCost(1) + ItemCost(200) + ItemCost(2), Last: ItemCost(2)}
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if got := len(body); got != PackedItemSize(1)+PackedItemSize(200)+PackedItemSize(2) {
		t.Fatalf("body of %d bytes", got)
	}
	rest := body
	for i, it := range items {
		var got []byte
		got, rest = NextPacked(rest)
		if !bytes.Equal(got, it) {
			t.Fatalf("item %d is %x, want %x", i, got, it)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}
	for name, bad := range map[string][]byte{
		"empty":      nil,
		"empty item": {0x00},
		"overrun":    {0x03, 1, 2},
		"long form":  {0x81, 0x00, 1},
		"no length":  {0x80},
		"trailing":   append(AppendPacked(nil, []byte{1}), 0x02, 1),
	} {
		if _, err := CheckPacked(bad); !errors.Is(err, ErrPacked) {
			t.Errorf("%s: %v, want ErrPacked", name, err)
		}
	}
}

func TestPackedHeader(t *testing.T) {
	for _, h := range []Header{
		{Kind: KindItem, Flags: FlagPacked},
		{Kind: KindItem, Flags: FlagPacked | FlagEnd},
	} {
		if err := CheckReserved(h); !errors.Is(err, ErrReserved) {
			t.Errorf("%+v: %v, want ErrReserved", h, err)
		}
	}
	if err := CheckReserved(Header{Kind: KindItem, Flags: FlagPacked, Size: 2}); err != nil {
		t.Error(err)
	}
	if err := CheckReserved(Header{Kind: KindWindow, Flags: FlagPacked, Size: WindowBodySize}); !errors.Is(err, ErrReserved) {
		t.Errorf("a window flagged packed: %v", err)
	}
}

// FuzzCheckPacked checks packed bodies of any bytes: CheckPacked accepts
// only what NextPacked splits exactly into the items it counts, whose
// costs it sums, and what it accepts is what AppendPacked writes.
func FuzzCheckPacked(f *testing.F) {
	f.Add(AppendPacked(AppendPacked(nil, []byte{1}), []byte{2, 3}))
	f.Add([]byte{0x00})
	f.Add([]byte{0x80, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, err := CheckPacked(b)
		if err != nil {
			if !errors.Is(err, ErrPacked) {
				t.Fatalf("error %v is not ErrPacked", err)
			}
			return
		}
		var again []byte
		var n int
		var cost, last uint64
		for rest := b; len(rest) > 0; n++ {
			var item []byte
			item, rest = NextPacked(rest)
			if len(item) == 0 {
				t.Fatal("an empty item accepted")
			}
			last = ItemCost(len(item))
			cost += last
			again = AppendPacked(again, item)
		}
		if n != sum.Items || cost != sum.Cost || last != sum.Last {
			t.Fatalf("summary %+v; split into %d items costing %d, the last %d", sum, n, cost, last)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x written again as %x", b, again)
		}
		if _, k := binary.Uvarint(b); k <= 0 {
			t.Fatal("accepted a body whose first length does not parse")
		}
	})
}
