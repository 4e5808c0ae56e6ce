package codec

import "github.com/simplerpc/simplerpc/internal/text"

// maxErrorLen bounds the text of every error OpenArray, Array.Next and
// Unmarshal return: a decoder's message may quote the value it refused,
// and that value may be megabytes long.
const maxErrorLen = 256

// boundedError is an error whose text is cut to maxErrorLen bytes. The
// wrapped error stays reachable for errors.Is and errors.As.
type boundedError struct{ err error }

// bound wraps err so that its text is at most maxErrorLen bytes; nil stays nil.
func bound(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(boundedError); ok {
		return err
	}
	return boundedError{err}
}

func (e boundedError) Error() string { return text.Cut(e.err.Error(), maxErrorLen) }

func (e boundedError) Unwrap() error { return e.err }
