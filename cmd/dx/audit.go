package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/client"
)

// auditState is what `dx audit verify` remembers between runs: the log key it trusts
// and the last checkpoint it verified.
type auditState struct {
	VKey string `json:"vkey"`
	Note string `json:"checkpoint"`
}

func defaultStatePath(server string) string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	sum := sha256.Sum256([]byte(strings.TrimRight(server, "/")))
	return filepath.Join(dir, "dx", "audit", hex.EncodeToString(sum[:8])+".json")
}

// runAudit handles `dx audit verify`.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "用法 / usage: dx audit verify [--server URL] [--vkey VKEY] [--state FILE] [--receipt FILE] [--subject ID] [--witness VKEY --quorum K]")
		return errUsage
	}
	fs := flag.NewFlagSet("dx audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr("DX_SERVER", "http://127.0.0.1:8080"), "the exchange's URL (its log is under /audit)")
	vkey := fs.String("vkey", "", "the log's verifier key (default: the one saved in --state; on first use, the one the server shows)")
	statePath := fs.String("state", "", "where the trusted key and last verified checkpoint are kept (default: in the user config directory)")
	receipt := fs.String("receipt", "", "a receipt file (c2sp.org/tlog-proof@v1) to check")
	subject := fs.String("subject", "", "print the history of this asset, agreement, negotiation or event ID")
	quorum := fs.Int("quorum", 0, "how many of the --witness keys must have cosigned")
	var witnesses multiFlag
	fs.Var(&witnesses, "witness", "a witness's cosigner verifier key (repeatable)")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *statePath == "" {
		*statePath = defaultStatePath(*server)
	}
	var state auditState
	if b, err := os.ReadFile(*statePath); err == nil {
		if err := json.Unmarshal(b, &state); err != nil {
			return dx.Errorf(dx.EInvalid, "状态文件 %s 损坏 / the state file %s is malformed", *statePath, *statePath)
		}
	}
	f := client.LogFetcher{Base: *server, HTTP: &http.Client{Timeout: 30 * time.Second}}
	switch {
	case *vkey != "":
	case state.VKey != "":
		*vkey = state.VKey
	default:
		b, err := f.Fetch(ctx, "vkey")
		if err != nil {
			return err
		}
		*vkey = strings.TrimSpace(string(b))
		fmt.Fprintf(stdout, "! 首次使用，信任服务器给出的日志密钥 / first use: trusting the log key the server shows:\n  %s\n  (compare it with the one the operator publishes; pass --vkey to pin it)\n", *vkey)
	}
	if state.VKey != "" && state.VKey != *vkey {
		return dx.Errorf(dx.EConflict, "日志密钥与先前信任的不同 / the log key differs from the one trusted before (%s); a changed key means a new log", state.VKey)
	}
	trust := audit.Trust{LogVKey: *vkey, Witnesses: witnesses, Quorum: *quorum}
	start := time.Now()
	a, err := audit.VerifyLog(ctx, f, trust, *subject, 8)
	if err != nil {
		return verifyFailed(err)
	}
	cp := a.Checkpoint
	fmt.Fprintf(stdout, "✓ 检查点由日志密钥签署 / checkpoint signed by the log key: %s, size %d, root %s\n", cp.Origin, cp.Size, cp.Hash)
	if len(witnesses) > 0 {
		fmt.Fprintf(stdout, "✓ 见证人联署 / cosigned by %d of %d trusted witnesses %v (quorum %d)\n", len(a.Cosigners), len(witnesses), a.Cosigners, *quorum)
	}
	fmt.Fprintf(stdout, "✓ %d 条目与瓦片一致，根哈希重算一致 / %d entries match their tiles, and they produce the signed root (%.1fs)\n", cp.Size, cp.Size, time.Since(start).Seconds())
	if state.Note != "" {
		prev, _, err := audit.OpenCheckpoint([]byte(state.Note), audit.Trust{LogVKey: *vkey})
		if err != nil {
			return verifyFailed(err)
		}
		if err := a.CheckConsistency(prev); err != nil {
			return verifyFailed(err)
		}
		fmt.Fprintf(stdout, "✓ 与先前保存的检查点一致 / consistent with the checkpoint saved earlier (size %d)\n", prev.Size)
	}
	if *receipt != "" {
		b, err := os.ReadFile(*receipt)
		if err != nil {
			return dx.Wrap(err, dx.EInvalid, "无法读取回执 / cannot read the receipt")
		}
		idx, err := a.CheckReceipt(b, trust)
		if err != nil {
			return verifyFailed(err)
		}
		e, err := audit.EntryAt(ctx, f, idx, cp.Size)
		if err != nil {
			return verifyFailed(err)
		}
		fmt.Fprintf(stdout, "✓ 回执有效：条目 %d 已入日志 / the receipt holds: entry %d is in the log (%s %s %s)\n", idx, idx, e.ID, e.Action, e.Subject)
	}
	if *subject != "" {
		fmt.Fprintf(stdout, "\n%s 的历史 / history of %s (%d entries):\n", *subject, *subject, len(a.Matches))
		for _, m := range a.Matches {
			actor := m.Entry.Actor
			if actor == "" {
				actor = "-"
			}
			fmt.Fprintf(stdout, "  #%-8d %s  %-28s %s\n", m.Index, m.Entry.Time, m.Entry.Action, actor)
		}
	}
	state.VKey, state.Note = *vkey, string(a.Note)
	b, _ := json.MarshalIndent(state, "", "  ")
	if err := os.MkdirAll(filepath.Dir(*statePath), 0o700); err == nil {
		tmp := *statePath + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err == nil {
			os.Rename(tmp, *statePath)
		}
	}
	fmt.Fprintf(stdout, "审计日志验证通过 / the audit log verifies (state saved in %s)\n", *statePath)
	return nil
}

func verifyFailed(err error) error {
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		return dx.Errorf(dx.EUnprocessable, "审计日志验证失败 / the audit log does NOT verify — %s: %s", ve.Where, ve.What)
	}
	return err
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
