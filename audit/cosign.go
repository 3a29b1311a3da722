package audit

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx/c2sp"
)

// WitnessClient sends a witness an add-checkpoint request (c2sp.org/tlog-witness) and
// returns its cosignature lines, or a *WitnessError.
type WitnessClient interface {
	AddCheckpoint(ctx context.Context, body []byte) ([]byte, error)
}

// WitnessError is a witness's refusal: its HTTP status, and for 409 the size it holds.
type WitnessError struct {
	Status int
	Size   int64
	Body   string
}

func (e *WitnessError) Error() string {
	return fmt.Sprintf("witness answered %d: %s", e.Status, e.Body)
}

// Witness is one witness the exchange asks to cosign.
type Witness struct {
	Name   string
	VKey   string // its cosigner verifier key (type 0x04)
	Client WitnessClient

	size int64 // the size it last cosigned, as far as this process knows
}

// Cosigning publishes checkpoints cosigned by a quorum of witnesses (k of n).
type Cosigning struct {
	Seq       *Sequencer
	Witnesses []*Witness
	Quorum    int
	Store     interface {
		Publish(ctx context.Context, size int64, cosigned []byte) error
	}
	// Republish is how often an unchanged checkpoint is cosigned again (liveness).
	Republish time.Duration
	Timeout   time.Duration // per witness request (default 5s)
}

// Run cosigns the sequencer's newest checkpoint whenever it advances (at most once a
// second) and republishes it every Republish, until ctx ends. Only checkpoints that
// reach the quorum are published; a witness that finds a fork (422) raises an alarm
// and is not asked again.
func (c *Cosigning) Run(ctx context.Context) {
	var published int64 = -1
	last := time.Time{}
	for ctx.Err() == nil {
		advanced := c.Seq.advanced()
		head := c.Seq.Head()
		if head.Note != nil && (head.Size != published || time.Since(last) >= c.republish()) {
			if err := c.Round(ctx, head); err != nil {
				c.Seq.Log.Warn("audit log: checkpoint not published", "size", head.Size, "err", err)
			} else {
				published, last = head.Size, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-advanced:
		case <-time.After(c.republish()):
		}
		select { // coalesce: at most one round a second
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (c *Cosigning) republish() time.Duration {
	if c.Republish <= 0 {
		return 5 * time.Minute
	}
	return c.Republish
}

// Round asks every witness to cosign head and publishes it with the cosignatures if a
// quorum verified.
func (c *Cosigning) Round(ctx context.Context, head LogState) error {
	var mu sync.Mutex
	var lines [][]byte
	var wg sync.WaitGroup
	for _, w := range c.Witnesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.ask(ctx, w, head)
			if err != nil {
				c.Seq.Log.Warn("audit log: witness refused or failed", "witness", w.Name, "size", head.Size, "err", err)
				return
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lines) < c.Quorum {
		return fmt.Errorf("%d of %d witnesses cosigned, the quorum is %d", len(lines), len(c.Witnesses), c.Quorum)
	}
	cosigned := append(bytes.Clone(head.Note), bytes.Join(lines, nil)...)
	return c.Store.Publish(ctx, head.Size, cosigned)
}

// ask sends one witness the checkpoint with a consistency proof from the size it holds,
// resynchronising once on 409, and returns its verified cosignature line.
func (c *Cosigning) ask(ctx context.Context, w *Witness, head LogState) ([]byte, error) {
	v, err := c2sp.NewCosignatureVerifier(w.VKey)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	for attempt := 0; ; attempt++ {
		var proof []tlog.Hash
		if w.size > 0 && w.size < head.Size {
			if proof, err = c.Seq.ProveConsistency(ctx, w.size, head.Size); err != nil {
				return nil, err
			}
		}
		body := c2sp.AddCheckpoint{Old: w.size, Proof: proof, Checkpoint: head.Note}.Format()
		rctx, cancel := context.WithTimeout(ctx, timeout)
		got, err := w.Client.AddCheckpoint(rctx, body)
		cancel()
		var we *WitnessError
		if err != nil && asWitnessError(err, &we) && we.Status == 409 && attempt == 0 && we.Size <= head.Size {
			w.size = we.Size
			continue
		}
		if err != nil {
			if asWitnessError(err, &we) && we.Status == 422 {
				c.Seq.Log.Error("audit log: ALARM — a witness reports an inconsistent checkpoint (fork or bug)", "witness", w.Name, "size", head.Size, "body", we.Body)
			}
			return nil, err
		}
		n, err := note.Open(append(bytes.Clone(head.Note), got...), note.VerifierList(v))
		if err != nil || len(n.Sigs) != 1 {
			return nil, fmt.Errorf("the cosignature of %s does not verify: %v", w.Name, err)
		}
		w.size = head.Size
		return got, nil
	}
}

func asWitnessError(err error, target **WitnessError) bool {
	we, ok := err.(*WitnessError)
	if ok {
		*target = we
	}
	return ok
}
