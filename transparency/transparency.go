// Package transparency serves the exchange's Merkle audit log over HTTP as the C2SP
// tlog-tiles static API — the checkpoint, hash tiles and entry bundles under /audit/ —
// so that anyone can fetch and verify it with standard clients, and a CDN can cache it.
// Reads come from the log's own tables, never from business tables.
package transparency

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
)

// Prefix is where the log is served; the origin names it, without the scheme.
const Prefix = "/audit"

// Log serves one audit log.
type Log struct {
	Store audit.LogStore
	VKey  string // the log key's verifier key, served for trust on first use
	// Known, if set, gives the newest size this process knows the log has (its
	// sequencer's): the cached checkpoint is re-read as soon as it is older.
	Known func() int64
	// Published, if set (witnesses are configured), returns the newest checkpoint
	// cosigned by a quorum: that is the one served, never a checkpoint without it.
	Published func(ctx context.Context) (int64, []byte, error)
	Log       *slog.Logger

	mu     sync.Mutex
	head   audit.LogState
	headAt time.Time
}

// Register mounts the log's endpoints.
func (l *Log) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/checkpoint", l.checkpoint)
	mux.HandleFunc("GET "+Prefix+"/vkey", l.vkey)
	mux.HandleFunc("GET "+Prefix+"/tile/", l.tile)
}

func public(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func (l *Log) notFound(w http.ResponseWriter, what string) {
	public(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(what + "\n"))
}

// latest returns the signed head as stored, re-read once a second and whenever this
// process's sequencer has moved past it.
func (l *Log) latest(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head.Note != nil && time.Since(l.headAt) < time.Second && (l.Known == nil || l.Published != nil || l.Known() <= l.head.Size) {
		return l.head.Note, nil
	}
	h, err := l.Store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	if l.Published != nil {
		if h.Size, h.Note, err = l.Published(ctx); err != nil {
			return nil, err
		}
	}
	l.head, l.headAt = h, time.Now()
	return h.Note, nil
}

func (l *Log) checkpoint(w http.ResponseWriter, r *http.Request) {
	note, err := l.latest(r.Context())
	if err != nil {
		l.Log.Error("audit log: cannot read the head", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if note == nil {
		l.notFound(w, "no checkpoint yet")
		return
	}
	public(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=2")
	w.Write(note)
}

func (l *Log) vkey(w http.ResponseWriter, r *http.Request) {
	public(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(l.VKey + "\n"))
}

func (l *Log) tile(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, Prefix+"/")
	t, err := c2sp.ParseTilePath(path)
	if err != nil {
		l.notFound(w, "not a tile path")
		return
	}
	h := w.Header()
	if t.L == -1 && t.W == 1<<c2sp.TileHeight && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		// a full bundle, stored compressed: served as it is
		data, err := l.Store.LogTile(r.Context(), path)
		if l.failed(w, path, err) {
			return
		}
		public(w)
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Vary", "Accept-Encoding")
		h.Set("Content-Encoding", "gzip")
		w.Write(data)
		return
	}
	head, err := l.Store.LogHead(r.Context())
	if l.failed(w, path, err) {
		return
	}
	data, err := audit.ReadTile(r.Context(), l.Store, path, head.Size)
	if l.failed(w, path, err) {
		return
	}
	public(w)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "public, max-age=31536000, immutable") // a tile of a given width never changes
	if t.L == -1 {
		h.Set("Vary", "Accept-Encoding")
	}
	w.Write(data)
}

// failed answers a failed read (404 for an absent tile) and reports whether it did.
func (l *Log) failed(w http.ResponseWriter, path string, err error) bool {
	switch {
	case err == nil:
		return false
	case dx.ErrorCode(err) == dx.ENotFound:
		l.notFound(w, "no such tile")
	default:
		l.Log.Error("audit log: cannot read a tile", "path", path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
	return true
}
