package dx

import "time"

// Clock tells the time. Domain code takes a Clock instead of calling time.Now so that
// tests can control time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
