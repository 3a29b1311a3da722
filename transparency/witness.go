package transparency

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/witness"
)

// WitnessServer serves a witness's submission endpoint, POST /add-checkpoint
// (c2sp.org/tlog-witness@v1.0.0).
type WitnessServer struct {
	W   *witness.Witness
	Log *slog.Logger
}

// Register mounts the endpoint.
func (s *WitnessServer) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /add-checkpoint", s.add)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("dx witness " + s.W.VKey() + "\n"))
	})
}

func (s *WitnessServer) add(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "request too large", http.StatusBadRequest)
		return
	}
	lines, err := s.W.AddCheckpoint(r.Context(), body)
	var ref *witness.Refusal
	switch {
	case errors.As(err, &ref):
		if ref.Status == http.StatusConflict {
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(strconv.FormatInt(ref.Size, 10) + "\n"))
			return
		}
		if ref.Status == http.StatusUnprocessableEntity {
			s.Log.Warn("witness: refused an inconsistent checkpoint", "reason", ref.Reason, "request", string(body))
		}
		http.Error(w, ref.Reason, ref.Status)
	case err != nil:
		s.Log.Error("witness: cannot add a checkpoint", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(lines)
	}
}

// WitnessClient asks a witness over HTTP to cosign (an audit.WitnessClient).
type WitnessClient struct {
	URL  string // the witness's submission prefix
	HTTP *http.Client
}

// AddCheckpoint posts an add-checkpoint request.
func (c WitnessClient) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(c.URL, "/")+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return b, nil
	}
	we := &audit.WitnessError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	if resp.StatusCode == http.StatusConflict {
		we.Size, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return nil, we
}
