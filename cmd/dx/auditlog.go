package main

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/transparency"
)

// sequencerLock names the advisory lock of the audit log's sequencer.
const sequencerLock = 7274101

// enableAuditLog gives events written before the log existed their entries, loads the
// log's head (refusing a head of another origin or key), serves the log, and runs the
// sequencer — on PostgreSQL in the one replica holding its lock.
func (x *exchange) enableAuditLog(ctx context.Context, operator party.Org) error {
	if n, err := x.store.BackfillAudit(ctx); err != nil {
		return err
	} else if n > 0 {
		x.log.Info("audit log: entries for earlier events", "events", n)
	}
	head, err := x.store.LogHead(ctx)
	if err != nil {
		return err
	}
	origin := x.cfg.AuditOrigin
	if origin == "" {
		origin = head.Origin
	}
	if origin == "" {
		origin = "dx.local/" + operator.ID + "/audit"
	}
	if strings.ContainsAny(origin, " +\n") {
		return dx.Errorf(dx.EInvalid, "审计日志 origin 不能含空格或 + / the audit origin %q must not contain spaces or +", origin)
	}
	key, err := seedKey(filepath.Join(x.cfg.Data, "audit-log.key")) // signs nothing but checkpoints; never in the database
	if err != nil {
		return err
	}
	signer, err := c2sp.LogSigner(origin, key)
	if err != nil {
		return err
	}
	vkey := c2sp.VKey(origin, c2sp.TypeEd25519, key.Public().(ed25519.PublicKey))
	seq := &audit.Sequencer{Store: x.store, Origin: origin, Signer: signer, VKey: vkey, Log: x.log}
	if err := seq.Load(ctx); err != nil {
		return err
	}
	x.auditLog = seq
	x.server.API.AuditLog = seq
	logWeb := &transparency.Log{Store: x.store, VKey: vkey, Known: func() int64 { return seq.Head().Size }, Log: x.log}
	x.server.AuditLog = logWeb
	runCtx, stop := context.WithCancel(context.Background())
	x.stopLog = stop
	if x.cfg.WitnessFile != "" {
		ws, quorum, err := witnessPolicy(x.cfg.WitnessFile)
		if err != nil {
			stop()
			return err
		}
		seq.Published, logWeb.Published = x.store.Published, x.store.Published
		go (&audit.Cosigning{Seq: seq, Witnesses: ws, Quorum: quorum, Store: x.store, Republish: time.Minute}).Run(runCtx)
	}
	go x.runSequencer(runCtx, seq)
	return nil
}

// runSequencer integrates pending entries while this process leads; a follower retries
// the lead every few seconds and keeps its head fresh for receipts.
func (x *exchange) runSequencer(ctx context.Context, seq *audit.Sequencer) {
	for ctx.Err() == nil {
		release, ok, err := x.store.TryLead(ctx, sequencerLock)
		if err != nil && ctx.Err() == nil {
			x.log.Error("audit log: cannot take the sequencer lock", "err", err)
		}
		if ok {
			if err := seq.Load(ctx); err != nil {
				x.log.Error("audit log: cannot load the head", "err", err)
			} else {
				seq.Run(ctx, time.Second)
			}
			release()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
			seq.Load(ctx)
		}
	}
}
