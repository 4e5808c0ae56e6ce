package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// wireCodec encodes the bench messages in protobuf wire format by hand,
// producing the bytes protoc-gen-go would for these proto3 messages:
//
//	message AddArgs  { int64 a = 1; int64 b = 2; }
//	message AddReply { int64 sum = 1; }
//	message Payload  { bytes data = 1; string name = 2; }
//	message Blob     { bytes data = 1; }
//
// It lets gRPC, drpc and arpc run without protoc-generated code. Decoded
// byte fields are copies, never views of the input buffer.
type wireCodec struct{}

// Name returns the codec's name; gRPC uses it as the content subtype.
func (wireCodec) Name() string { return "benchwire" }

// Marshal encodes one of the bench message pointers.
func (wireCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *AddArgs:
		b := make([]byte, 0, 2*(1+protowire.SizeVarint(1<<63)))
		b = appendVarintField(b, 1, m.A)
		return appendVarintField(b, 2, m.B), nil
	case *AddReply:
		return appendVarintField(make([]byte, 0, 11), 1, m.Sum), nil
	case *Payload:
		b := make([]byte, 0, 2*protowire.SizeTag(1)+protowire.SizeBytes(len(m.Data))+protowire.SizeBytes(len(m.Name)))
		b = appendBytesField(b, 1, m.Data)
		if m.Name != "" {
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendString(b, m.Name)
		}
		return b, nil
	case *Blob:
		return appendBytesField(make([]byte, 0, protowire.SizeTag(1)+protowire.SizeBytes(len(m.Data))), 1, m.Data), nil
	}
	return nil, fmt.Errorf("benchwire: cannot marshal %T", v)
}

func appendVarintField(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// Unmarshal decodes data into one of the bench message pointers.
func (wireCodec) Unmarshal(data []byte, v any) error {
	switch v.(type) {
	case *AddArgs, *AddReply, *Payload, *Blob:
	default:
		return fmt.Errorf("benchwire: cannot unmarshal into %T", v)
	}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("benchwire: %w", protowire.ParseError(n))
		}
		data = data[n:]
		var (
			u uint64
			b []byte
		)
		switch typ {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(data)
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return fmt.Errorf("benchwire: %w", protowire.ParseError(n))
		}
		data = data[n:]
		setField(v, num, int64(u), b)
	}
	return nil
}

// setField stores one decoded field; unknown fields are skipped, as
// protobuf does.
func setField(v any, num protowire.Number, i int64, b []byte) {
	switch m := v.(type) {
	case *AddArgs:
		switch num {
		case 1:
			m.A = i
		case 2:
			m.B = i
		}
	case *AddReply:
		if num == 1 {
			m.Sum = i
		}
	case *Payload:
		switch num {
		case 1:
			m.Data = append([]byte(nil), b...)
		case 2:
			m.Name = string(b)
		}
	case *Blob:
		if num == 1 {
			m.Data = append([]byte(nil), b...)
		}
	}
}
