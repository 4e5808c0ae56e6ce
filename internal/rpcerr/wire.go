package rpcerr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
	"github.com/simplerpc/simplerpc/internal/text"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// An error reply's body is one codec array (PROTOCOL.md, "Errors"):
//
//	[code, message, method, remote type, stack, name, detail]
//
// detail is present only when name is a registered error type; it holds
// that error value's exported fields.

// AppendBody encodes e, with the registered error value detail (or
// nil), into buf.
//
// Its strings go out as text, which must be UTF-8 (a strict CBOR decoder
// refuses the reply otherwise): bytes that are not are replaced with
// U+FFFD, whether they came from the peer or from a method's error.
func AppendBody(buf *bytes.Buffer, c codec.Codec, e *Error, detail any) error {
	vals := []any{uint8(e.Code), text.Valid(e.Message), text.Valid(e.Method), text.Valid(e.RemoteType), text.Valid(e.Stack), text.Valid(e.Name)}
	if detail != nil {
		vals = append(vals, detail)
	}
	start := buf.Len()
	err := c.AppendArray(buf, vals)
	if err != nil && detail != nil {
		// The registered value does not encode: send the error without it.
		buf.Truncate(start)
		err = c.AppendArray(buf, vals[:len(vals)-1])
	}
	return err
}

// DecodeBody decodes an error reply for a call of method.
func DecodeBody(c codec.Codec, body []byte, method string) *Error {
	arr, err := c.OpenArray(body)
	if err != nil || arr.Len() < 6 {
		return Errorf(CodeInternal, method, "malformed error reply (%d bytes)", len(body))
	}
	var code uint8
	e := &Error{}
	for _, p := range []any{&code, &e.Message, &e.Method, &e.RemoteType, &e.Stack, &e.Name} {
		if err := arr.Next(p); err != nil {
			return Errorf(CodeInternal, method, "malformed error reply: %v", err)
		}
	}
	e.Code = Code(code)
	if !Known(e.Code) {
		e.Code = CodeInternal
	}
	if e.Method == "" {
		e.Method = method
	}
	if e.Name == "" {
		return e
	}
	typ, sentinel := lookupRegistered(e.Name)
	switch {
	case sentinel != nil:
		e.cause = sentinel
	case typ != nil && arr.Remaining() > 0:
		e.cause = decodeErrorValue(&arr, typ)
	}
	return e
}

// decodeErrorValue decodes the detail element into a new value of the
// registered error type typ, or returns nil if it does not decode.
func decodeErrorValue(arr *codec.Array, typ reflect.Type) error {
	var v reflect.Value
	if typ.Kind() == reflect.Pointer {
		v = reflect.New(typ.Elem())
		if arr.Next(v.Interface()) != nil {
			return nil
		}
	} else {
		p := reflect.New(typ)
		if arr.Next(p.Interface()) != nil {
			return nil
		}
		v = p.Elem()
	}
	err, _ := v.Interface().(error)
	return err
}

// Remote converts an error returned by a method into the Error sent
// to the caller, with the registered value (if any) to send as detail.
func Remote(method string, err error, stacks bool) (*Error, any) {
	e := &Error{Code: CodeApplication, Method: method, Message: err.Error(), RemoteType: fmt.Sprintf("%T", err)}
	if re, ok := err.(*Error); ok {
		// A method may fail with a coded error of its own (for example
		// CodePermissionDenied); keep its code and details.
		e.Code, e.Message, e.RemoteType, e.Stack = re.Code, re.Message, re.RemoteType, re.Stack
	} else if errors.Is(err, context.DeadlineExceeded) {
		e.Code = CodeDeadlineExceeded
	} else if errors.Is(err, context.Canceled) {
		e.Code = CodeCanceled
	}
	if stacks && e.Stack == "" {
		e.Stack = errorChain(err)
	}
	var detail any
	var cfg errorConfig
	e.Name, detail, cfg = matchRegistered(err)
	e.rpcCode = cfg.rpcCode
	if c, ok := errors.AsType[JSONRPCCoder](err); ok && jsonrpc.ValidAppCode(c.JSONRPCCode()) {
		e.rpcCode = c.JSONRPCCode()
	}
	return e, detail
}

// errorChain describes err and everything it wraps, one line each, with
// %+v so errors that record a stack print it.
func errorChain(err error) string {
	var b bytes.Buffer
	b.WriteString("error chain:\n")
	var walk func(error, string)
	walk = func(err error, indent string) {
		fmt.Fprintf(&b, "%s%T: %+v\n", indent, err, err)
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				walk(next, indent+"  ")
			}
		case interface{ Unwrap() []error }:
			for _, next := range u.Unwrap() {
				walk(next, indent+"  ")
			}
		}
	}
	walk(err, "  ")
	return b.String()
}
