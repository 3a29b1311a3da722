package dx

import (
	"errors"
	"fmt"
)

// Error codes. The api package owns the only table that maps them to HTTP statuses;
// the CLI maps them to exit codes.
const (
	EInvalid       = "invalid"       // the request is malformed or a value is out of range
	EUnauthorized  = "unauthorized"  // no credentials, or unknown or revoked ones
	EForbidden     = "forbidden"     // known caller, not allowed
	ENotFound      = "not_found"     // no such thing, or not visible to the caller
	EConflict      = "conflict"      // the state changed under the caller, or a duplicate
	ETooLarge      = "too_large"     // a body or file over its limit
	EUnprocessable = "unprocessable" // well-formed but unusable content (a broken file)
	EInternal      = "internal"      // a bug or an infrastructure failure
)

// Error is the one error type of dx. Message is safe to show to users (it may be bilingual);
// Err is the cause, for logs only.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(err error, code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err: the Message of its first *Error,
// or a generic text that reveals nothing of an internal cause.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "内部错误 / internal error"
}

// ErrorDetails returns the Details of the first *Error in err's chain, if any.
func ErrorDetails(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// WrapOp adds op as context to *errp, keeping its code; it is meant for one deferred call
// per function: defer dx.WrapOp(&err, "asset.Register").
func WrapOp(errp *error, op string) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		if e.Err == nil {
			return // a user error made here: the message says it all
		}
		*errp = &Error{Code: e.Code, Message: e.Message, Details: e.Details, Err: fmt.Errorf("%s: %w", op, e.Err)}
		return
	}
	*errp = fmt.Errorf("%s: %w", op, *errp)
}
