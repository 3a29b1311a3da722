// Package outbox keeps a node's outbound DSP messages in the database until the peer
// acknowledges them: a message is stored, sent at once by a worker, and retried with
// backoff while the peer is unreachable or failing, across restarts and by any replica
// (a claimed message is leased so two workers do not send it at the same time).
package outbox

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dxexchange/dx"
)

// Message is one stored outbound message.
type Message struct {
	ID        string
	URL       string
	Body      []byte
	Attempts  int
	NextAt    time.Time
	CreatedAt time.Time
}

// Store keeps messages (store.Store implements it).
type Store interface {
	Enqueue(ctx context.Context, m Message) error
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Message, error)
	Sent(ctx context.Context, id string, at time.Time) error
	// Retry records a failed attempt: next is when to try again, zero to give up.
	Retry(ctx context.Context, id string, next time.Time, reason string) error
	// Atomically runs fn as one unit of work.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error
}

// Send delivers a message; a *dx.Error other than EInternal is a final refusal.
type Send func(ctx context.Context, url string, body []byte) error

// Done is told a message's final outcome (delivered: err nil; refused or given up: the
// last error) inside the transaction that records it, e.g. to write an audit event.
type Done func(ctx context.Context, m Message, err error) error

// Outbox queues and delivers messages.
type Outbox struct {
	store    Store
	send     Send
	done     Done
	clock    dx.Clock
	log      *slog.Logger
	wake     chan struct{}
	stop     context.CancelFunc
	finished chan struct{}
	mu       sync.Mutex
}

// MaxAttempts bounds the deliveries of one message (about half an hour of backoff).
const MaxAttempts = 12

// Lease is how long a claimed message is reserved for the worker sending it.
const Lease = 30 * time.Second

// Start returns an outbox whose worker runs until Close; done (may be nil) is told each
// message's final outcome.
func Start(store Store, send Send, done Done, clock dx.Clock, log *slog.Logger) *Outbox {
	ctx, stop := context.WithCancel(context.Background())
	o := &Outbox{store: store, send: send, done: done, clock: clock, log: log, wake: make(chan struct{}, 1), stop: stop, finished: make(chan struct{})}
	go o.run(ctx)
	return o
}

// Close stops the worker; undelivered messages stay stored for the next start.
func (o *Outbox) Close() {
	o.stop()
	<-o.finished
}

// Post stores a message for url and wakes the worker to send it at once. Posted inside a
// unit of work, the message is stored when the unit commits: call Wake after it does.
func (o *Outbox) Post(ctx context.Context, url string, body []byte) error {
	now := o.clock.Now()
	if err := o.store.Enqueue(ctx, Message{ID: dx.NewID("msg", now), URL: url, Body: body, NextAt: now, CreatedAt: now}); err != nil {
		return err
	}
	o.Wake()
	return nil
}

// Wake makes the worker look for due messages now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *Outbox) run(ctx context.Context) {
	defer close(o.finished)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		msgs, err := o.store.Claim(ctx, o.clock.Now(), Lease, 32)
		if err != nil && ctx.Err() == nil {
			o.log.Error("outbox: cannot claim messages", "err", err)
		}
		for _, m := range msgs {
			inflight.Add(1)
			go func(m Message) {
				defer inflight.Done()
				o.deliver(ctx, m)
			}(m)
		}
		if len(msgs) == 32 {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-tick.C:
		}
	}
}

func (o *Outbox) deliver(ctx context.Context, m Message) {
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err := o.send(sctx, m.URL, m.Body)
	cancel()
	now := o.clock.Now()
	bg := context.Background() // record the outcome even while stopping
	final := func(mark func(ctx context.Context) error) error {
		return o.store.Atomically(bg, func(ctx context.Context) error {
			if err := mark(ctx); err != nil || o.done == nil {
				return err
			}
			return o.done(ctx, m, err)
		})
	}
	if err == nil {
		if err := final(func(ctx context.Context) error { return o.store.Sent(ctx, m.ID, now) }); err != nil {
			o.log.Error("outbox: cannot mark a message sent", "id", m.ID, "err", err)
		}
		return
	}
	attempts := m.Attempts + 1
	if dx.ErrorCode(err) != dx.EInternal || attempts >= MaxAttempts {
		o.log.Error("outbox: message given up", "url", m.URL, "attempts", attempts, "err", err)
		if ferr := final(func(ctx context.Context) error { return o.store.Retry(ctx, m.ID, time.Time{}, err.Error()) }); ferr != nil {
			o.log.Error("outbox: cannot mark a message given up", "id", m.ID, "err", ferr)
		}
		return
	}
	backoff := 500 * time.Millisecond << min(attempts-1, 12)
	o.store.Retry(bg, m.ID, now.Add(backoff), err.Error())
}
