package c2sp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// ProofHeader opens a receipt (c2sp.org/tlog-proof@v1).
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Proof is a receipt: the inclusion proof of one entry in the tree of a checkpoint,
// verifiable offline.
type Proof struct {
	Extra      []byte // unauthenticated application data (optional)
	Index      int64
	Hashes     []tlog.Hash
	Checkpoint []byte // the signed note, verbatim
}

// Format writes the receipt.
func (p Proof) Format() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	hashLines(&b, p.Hashes)
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof reads a receipt.
func ParseProof(data []byte) (Proof, error) {
	var p Proof
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return p, errors.New("receipt: no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return p, fmt.Errorf("receipt: first line must be %s", ProofHeader)
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return p, errors.New("receipt: bad extra line")
		}
		p.Extra, lines = extra, lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return p, errors.New("receipt: missing index line")
	}
	idx, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || idx < 0 {
		return p, errors.New("receipt: bad index")
	}
	p.Index = idx
	for _, l := range lines[1:] {
		h, err := parseHashLine(l)
		if err != nil {
			return p, fmt.Errorf("receipt: %w", err)
		}
		p.Hashes = append(p.Hashes, h)
	}
	p.Checkpoint = cp
	return p, nil
}

// AddCheckpoint is a witness's add-checkpoint request body.
type AddCheckpoint struct {
	Old        int64       // the size the log believes the witness last cosigned (0 at first)
	Proof      []tlog.Hash // consistency proof from Old to the checkpoint's size
	Checkpoint []byte      // the checkpoint with the log's signature(s)
}

// Format writes the request body.
func (a AddCheckpoint) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", a.Old)
	hashLines(&b, a.Proof)
	b.WriteByte('\n')
	b.Write(a.Checkpoint)
	return b.Bytes()
}

// ParseAddCheckpoint reads a request body (at most 63 proof lines).
func ParseAddCheckpoint(data []byte) (AddCheckpoint, error) {
	var a AddCheckpoint
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return a, errors.New("add-checkpoint: no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	old, ok := strings.CutPrefix(lines[0], "old ")
	n, err := strconv.ParseInt(old, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != old {
		return a, errors.New("add-checkpoint: bad old line")
	}
	if len(lines)-1 > 63 {
		return a, errors.New("add-checkpoint: more than 63 proof lines")
	}
	a.Old = n
	for _, l := range lines[1:] {
		h, err := parseHashLine(l)
		if err != nil {
			return a, fmt.Errorf("add-checkpoint: %w", err)
		}
		a.Proof = append(a.Proof, h)
	}
	a.Checkpoint = cp
	return a, nil
}
