// Package witness is a C2SP transparency-log witness (c2sp.org/tlog-witness@v1.0.0):
// for each log it trusts it keeps the latest checkpoint it cosigned, checks that a new
// checkpoint is signed by the log and consistent with that one, and cosigns it
// (c2sp.org/tlog-cosignature@v1.0.1, timestamped Ed25519). It refuses older, forked or
// unproven checkpoints with the statuses the spec names, and never rolls back.
package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/c2sp"
)

// Store keeps, per log origin, the latest checkpoint the witness cosigned.
type Store interface {
	// WitnessLatest returns the size and root last cosigned for origin (0 and the empty
	// root if none).
	WitnessLatest(ctx context.Context, origin string) (int64, tlog.Hash, error)
	// WitnessAdvance moves origin from (old, oldRoot) to (size, root), storing the
	// cosigned note; EConflict if it is no longer at (old, oldRoot).
	WitnessAdvance(ctx context.Context, origin string, old int64, oldRoot tlog.Hash, size int64, root tlog.Hash, cosigned []byte) error
}

// Witness cosigns the checkpoints of the logs it trusts.
type Witness struct {
	Name  string // the cosigner's name, e.g. witness.example.org/w1
	Key   ed25519.PrivateKey
	Store Store
	Now   func() time.Time

	mu   sync.Mutex
	logs map[string]note.Verifier // origin → the log's verifier
}

// Trust adds a log by its verifier key (type 0x01, named by the log's origin).
func (w *Witness) Trust(vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.logs == nil {
		w.logs = map[string]note.Verifier{}
	}
	w.logs[v.Name()] = v
	return nil
}

// VKey is the witness's cosigner verifier key (type 0x04).
func (w *Witness) VKey() string {
	return c2sp.VKey(w.Name, c2sp.TypeCosignature, w.Key.Public().(ed25519.PublicKey))
}

// Refusal is an add-checkpoint request the witness refuses, with its HTTP status; for
// 409 Size is the size the witness holds.
type Refusal struct {
	Status int
	Size   int64
	Reason string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d: %s", r.Status, r.Reason) }

func refuse(status int, format string, args ...any) error {
	return &Refusal{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// AddCheckpoint handles a log's add-checkpoint request and returns the cosignature
// line(s) to append to the checkpoint; refusals are *Refusal.
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	req, err := c2sp.ParseAddCheckpoint(body)
	if err != nil {
		return nil, refuse(400, "%v", err)
	}
	origin, _, _ := strings.Cut(string(req.Checkpoint), "\n")
	w.mu.Lock()
	v, ok := w.logs[origin]
	w.mu.Unlock()
	if !ok {
		return nil, refuse(404, "unknown log %q", origin)
	}
	n, err := note.Open(req.Checkpoint, note.VerifierList(v))
	if err != nil {
		return nil, refuse(403, "no valid signature of log %q: %v", origin, err)
	}
	cp, err := c2sp.ParseCheckpoint([]byte(n.Text))
	if err != nil || cp.Origin != origin {
		return nil, refuse(400, "malformed checkpoint")
	}
	if req.Old > cp.Size {
		return nil, refuse(400, "old size %d is larger than the checkpoint's %d", req.Old, cp.Size)
	}
	size, root, err := w.Store.WitnessLatest(ctx, origin)
	if err != nil {
		return nil, err
	}
	if req.Old != size {
		return nil, &Refusal{Status: 409, Size: size, Reason: fmt.Sprintf("the witness holds size %d", size)}
	}
	switch {
	case cp.Size == 0 && cp.Hash != c2sp.EmptyRoot:
		return nil, refuse(422, "a size-0 checkpoint must carry the empty root")
	case req.Old == 0 && len(req.Proof) > 0:
		return nil, refuse(422, "a proof from size 0 must be empty")
	case req.Old == cp.Size && (cp.Hash != root || len(req.Proof) > 0):
		return nil, refuse(422, "same size %d, different root: a fork", cp.Size)
	case req.Old > 0 && req.Old < cp.Size:
		if err := tlog.CheckTree(req.Proof, cp.Size, cp.Hash, req.Old, root); err != nil {
			return nil, refuse(422, "the consistency proof from %d to %d fails: %v", req.Old, cp.Size, err)
		}
	}
	cosigner := c2sp.NewCosigner(w.Name, w.Key)
	if w.Now != nil {
		cosigner.Now = w.Now
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, cosigner)
	if err != nil {
		return nil, err
	}
	lines := signed[bytes.LastIndex(signed, []byte("\n\n"))+2:]
	if err := w.Store.WitnessAdvance(ctx, origin, size, root, cp.Size, cp.Hash, append(bytes.Clone(req.Checkpoint), lines...)); err != nil {
		if dx.ErrorCode(err) == dx.EConflict { // another request advanced it first
			now, _, lerr := w.Store.WitnessLatest(ctx, origin)
			if lerr != nil {
				return nil, lerr
			}
			return nil, &Refusal{Status: 409, Size: now, Reason: fmt.Sprintf("the witness holds size %d", now)}
		}
		return nil, err
	}
	return lines, nil
}
