// Package simplerpc calls the methods of a Go object that lives in another
// process, on another machine, as if it were local.
//
// A server registers any object; every exported method becomes callable:
//
//	srv := simplerpc.NewServer()
//	srv.Register("Calc", &Calc{})
//	go srv.ListenAndServe("127.0.0.1:9000")
//
// A program that stops the server calls Shutdown and waits for it to
// return before it exits: ListenAndServe returns as soon as Shutdown
// begins, with calls still finishing.
//
// A client calls by name, or binds a struct of funcs that then looks
// exactly like the server object:
//
//	c, err := simplerpc.Dial(ctx, "127.0.0.1:9000")
//	var sum int
//	err = c.Call(ctx, "Calc.Add", []any{1, 2}, &sum)
//
//	var calc struct {
//		Add func(a, b int) (int, error)
//	}
//	err = c.Bind("Calc", &calc)
//	sum, err = calc.Add(1, 2)
//
// Methods may take a leading context.Context (it carries the caller's
// deadline and is canceled when the caller gives up), any parameters
// including variadic ones, and return any results with an optional final
// error. A method whose only parameter is a struct takes its arguments by
// position or by field name.
//
// All calls from one Client share one connection, multiplexed. Values
// travel as CBOR (or JSON, WithCodec) and are decoded straight into the
// method's parameter types. Failures come back as *Error with a Code;
// errors registered with RegisterError and RegisterErrorType come back as
// themselves, so errors.Is and errors.As work across the wire.
//
// Delivery is at most once: a call the server refused or that could not
// be sent is retried under the RetryPolicy; a call that may have run is
// never retried, and fails with CodeConnectionLost if its connection
// breaks. PROTOCOL.md at the repository root specifies the wire format.
package simplerpc
