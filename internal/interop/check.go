package interop

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/simplerpc/simplerpc"
)

// SkipError is returned by a case that cannot run against a target (a
// transport that cannot express it); the runner reports it as SKIP.
type SkipError struct {
	Reason string
}

// Error returns "skipped: REASON".
func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a *SkipError with reason.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// wantError checks that err is a *simplerpc.Error of code, for a call of
// method, and returns it.
func wantError(err error, method string, code simplerpc.Code) (*simplerpc.Error, error) {
	if err == nil {
		return nil, fmt.Errorf("%s succeeded, want a failure with code %s", method, code)
	}
	var e *simplerpc.Error
	if !errors.As(err, &e) {
		return nil, fmt.Errorf("%s: error %v (%T) is not a *simplerpc.Error", method, err, err)
	}
	if e.Code != code {
		return nil, fmt.Errorf("%s: code %s, want %s (error: %v)", method, e.Code, code, err)
	}
	if e.Method != method {
		return nil, fmt.Errorf("%s: the error names the method %q, want %q", method, e.Method, method)
	}
	return e, nil
}

// detailOf decodes the registered error value an error carries into v: a
// native client rebuilds it (errors.As), a JSON-RPC error carries it in
// error.data.detail.
func detailOf(err error, v **DetailError) bool {
	if errors.As(err, v) {
		return true
	}
	var ce *CallError
	if errors.As(err, &ce) && ce.Detail != nil {
		*v = new(DetailError)
		return json.Unmarshal(ce.Detail, *v) == nil
	}
	return false
}

// token returns a random token naming one sleeping call.
func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// exactInt returns the integer v holds, exactly, in decimal, whatever type
// a codec decoded it into, or why it does not hold one.
func exactInt(v any) (string, error) {
	switch n := v.(type) {
	case int64:
		return strconv.FormatInt(n, 10), nil
	case uint64:
		return strconv.FormatUint(n, 10), nil
	case int:
		return strconv.Itoa(n), nil
	case json.Number:
		if _, ok := new(big.Int).SetString(string(n), 10); !ok {
			return "", fmt.Errorf("%s is not an integer literal", n)
		}
		return string(n), nil
	case *big.Int:
		return n.String(), nil
	case big.Int:
		return n.String(), nil
	case float64:
		f := new(big.Float).SetFloat64(n)
		if i, acc := f.Int(nil); acc == big.Exact {
			return i.String(), nil
		}
		return "", fmt.Errorf("%v is not an integer", n)
	}
	return "", fmt.Errorf("%v (%T) is not a number", v, v)
}
