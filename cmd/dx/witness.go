package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/transparency"
	"github.com/dxexchange/dx/witness"
)

// seedKey loads an Ed25519 key from a base64 seed file, creating it on first use.
func seedKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(seed)+"\n"), 0o600); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, err
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, dx.Errorf(dx.EInvalid, "密钥文件 %s 损坏 / the key file %s is malformed", path, path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// runWitness handles `dx witness`: a tlog-witness for the logs given with --log.
func runWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	cfg.Addr, cfg.Data = ":8090", "dx-witness"
	fs := flag.NewFlagSet("dx witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (the witness's state and key)")
	fs.StringVar(&cfg.DB, "db", cfg.DB, `"sqlite" (a file in the data directory) or a postgres:// URL`)
	name := fs.String("name", "", "the witness's name, e.g. witness.example.org/w1 (required)")
	var logs multiFlag
	fs.Var(&logs, "log", "the verifier key of a log to witness (repeatable)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || strings.ContainsAny(*name, " +") || len(logs) == 0 {
		fmt.Fprintln(stderr, "用法 / usage: dx witness --name NAME --log VKEY [--log VKEY…] [--addr :8090] [--data DIR]")
		return errUsage
	}
	cfg.Migrate = true
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := seedKey(filepath.Join(cfg.Data, "witness.key"))
	if err != nil {
		return err
	}
	w := &witness.Witness{Name: *name, Key: key, Store: st}
	for _, v := range logs {
		if err := w.Trust(v); err != nil {
			return dx.Errorf(dx.EInvalid, "日志密钥无效 / bad log verifier key %q: %v", v, err)
		}
	}
	log := cfg.logger(stderr)
	mux := http.NewServeMux()
	(&transparency.WitnessServer{W: w, Log: log}).Register(mux)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "见证人 / witness %s\n  cosigner key: %s\n  listening on http://%s\n", *name, w.VKey(), ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// witnessPolicy reads the exchange's witness file: lines "witness NAME VKEY URL" and
// "quorum K" (K defaults to all; # starts a comment).
func witnessPolicy(path string) ([]*audit.Witness, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var ws []*audit.Witness
	quorum := -1
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		bad := func() error {
			return dx.Errorf(dx.EInvalid, "%s:%d: 应为 witness NAME VKEY URL 或 quorum K / expected witness NAME VKEY URL or quorum K", path, line)
		}
		switch {
		case len(fields) == 0:
		case fields[0] == "witness" && len(fields) == 4:
			if _, err := c2sp.NewCosignatureVerifier(fields[2]); err != nil {
				return nil, 0, dx.Errorf(dx.EInvalid, "%s:%d: %v", path, line, err)
			}
			ws = append(ws, &audit.Witness{Name: fields[1], VKey: fields[2], Client: transparency.WitnessClient{URL: fields[3], HTTP: &http.Client{Timeout: 10 * time.Second}}})
		case fields[0] == "quorum" && len(fields) == 2:
			k, err := strconv.Atoi(fields[1])
			if err != nil || k < 1 {
				return nil, 0, bad()
			}
			quorum = k
		default:
			return nil, 0, bad()
		}
	}
	if quorum == -1 {
		quorum = len(ws)
	}
	if quorum > len(ws) || len(ws) == 0 {
		return nil, 0, dx.Errorf(dx.EInvalid, "%s: quorum %d of %d witnesses", path, quorum, len(ws))
	}
	return ws, quorum, sc.Err()
}
