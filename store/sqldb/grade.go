package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/classify"
)

// Grade returns a version's grade.
func (s *DB) Grade(ctx context.Context, versionID string) (asset.Grade, error) {
	var g asset.Grade
	var proposal string
	var important, core, approved int
	var updated int64
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT version_id, asset_id, proposal, level, important, core, approved, decided_by, reason, updated_at FROM version_grades WHERE version_id = ?`), versionID).
		Scan(&g.VersionID, &g.AssetID, &proposal, &g.Level, &important, &core, &approved, &g.DecidedBy, &g.Reason, &updated)
	if err != nil {
		return g, s.mapErr(err)
	}
	if proposal != "" {
		var p classify.Proposal
		if err := json.Unmarshal([]byte(proposal), &p); err != nil {
			return g, err
		}
		g.Proposal = &p
	}
	g.Important, g.Core, g.Approved, g.UpdatedAt = important == 1, core == 1, approved == 1, fromMicros(updated)
	return g, nil
}

// SaveGrade stores a version's grade with its events.
func (s *DB) SaveGrade(ctx context.Context, g asset.Grade, events []dx.Event) error {
	proposal := ""
	if g.Proposal != nil {
		b, err := json.Marshal(g.Proposal)
		if err != nil {
			return err
		}
		proposal = string(b)
	}
	b := func(x bool) int {
		if x {
			return 1
		}
		return 0
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, s.q(`INSERT INTO version_grades (version_id, asset_id, proposal, level, important, core, approved, decided_by, reason, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version_id) DO UPDATE SET proposal = excluded.proposal, level = excluded.level,
			important = excluded.important, core = excluded.core, approved = excluded.approved, decided_by = excluded.decided_by,
			reason = excluded.reason, updated_at = excluded.updated_at`),
			g.VersionID, g.AssetID, proposal, g.Level, b(g.Important), b(g.Core), b(g.Approved), g.DecidedBy, g.Reason, micros(g.UpdatedAt)); err != nil {
			return err
		}
		level := g.Level // the decision, else the latest proposal
		if level == 0 && g.Proposal != nil {
			level = g.Proposal.Level
		}
		if level > 0 {
			if _, err := s.exec(ctx, tx, s.q(`UPDATE assets SET grade = ? WHERE id = ? AND latest_version = (SELECT number FROM versions WHERE id = ?)`), level, g.AssetID, g.VersionID); err != nil {
				return err
			}
		}
		return s.insertEvents(ctx, tx, events)
	})
}
