package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
)

// assetRow is the JSON kept in assets.meta (besides the columns that are filtered on).
type assetRow struct {
	Meta    asset.Meta     `json:"meta"`
	Rights  asset.Rights   `json:"rights"`
	Lineage []asset.Parent `json:"lineage"`
}

// writeRights replaces an asset's rows in asset_rights and asset_lineage, whose foreign
// keys make sure every right holder and parent exists.
func (s *DB) writeRights(ctx context.Context, tx *sql.Tx, a asset.Asset) error {
	if _, err := s.exec(ctx, tx, s.q(`DELETE FROM asset_rights WHERE asset_id = ?`), a.ID); err != nil {
		return err
	}
	type right struct{ kind, org string }
	rights := []right{{"holding", a.Rights.Holder}, {"product_operation", a.Rights.ProductOperator}}
	for _, o := range a.Rights.ProcessingUse {
		rights = append(rights, right{"processing_use", o})
	}
	for _, r := range rights {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO asset_rights (asset_id, kind, org_id) VALUES (?, ?, ?)`), a.ID, r.kind, r.org)
		if dx.ErrorCode(s.mapErr(err)) == dx.EInvalid {
			return dx.Errorf(dx.EInvalid, "权利人 %q 不存在 / right holder %q is not a known organisation", r.org, r.org)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) writeAsset(ctx context.Context, tx *sql.Tx, a asset.Asset, insert bool) error {
	meta, err := json.Marshal(assetRow{Meta: a.Meta, Rights: a.Rights, Lineage: a.Lineage})
	if err != nil {
		return err
	}
	if insert {
		_, err = s.exec(ctx, tx, s.q(`INSERT INTO assets (id, owner_id, name, meta, industry, region, visibility, format, latest_version, created_at, updated_at, grade)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, a.OwnerID, a.Name, string(meta), a.Meta.Industry, a.Meta.Region, a.Meta.Visibility, a.Format, a.LatestVersion, micros(a.CreatedAt), micros(a.UpdatedAt), a.Grade)
		if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
			return dx.Errorf(dx.EConflict, "数据资产名称 %q 已存在 / an asset named %q exists", a.Name, a.Name)
		}
		return err
	}
	res, err := s.exec(ctx, tx, s.q(`UPDATE assets SET meta = ?, industry = ?, region = ?, visibility = ?, updated_at = ? WHERE id = ?`),
		string(meta), a.Meta.Industry, a.Meta.Region, a.Meta.Visibility, micros(a.UpdatedAt), a.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return dx.Errorf(dx.ENotFound, "数据资产不存在 / asset %q not found", a.ID)
	}
	return nil
}

func (s *DB) insertVersion(ctx context.Context, tx *sql.Tx, v asset.Version) error {
	info, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, s.q(`INSERT INTO versions (id, asset_id, number, info, digest, row_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		v.ID, v.AssetID, v.Number, string(info), v.Digest, v.RowCount, micros(v.CreatedAt))
	if dx.ErrorCode(s.mapErr(err)) == dx.EConflict {
		return dx.Errorf(dx.EConflict, "版本 %d 已存在 / version %d exists", v.Number, v.Number)
	}
	return err
}

// CreateAsset inserts an asset and its first version.
func (s *DB) CreateAsset(ctx context.Context, a asset.Asset, v asset.Version, sd asset.Search, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.writeAsset(ctx, tx, a, true); err != nil {
			return err
		}
		if err := s.writeRights(ctx, tx, a); err != nil {
			return err
		}
		for _, p := range a.Lineage {
			_, err := s.exec(ctx, tx, s.q(`INSERT INTO asset_lineage (asset_id, parent_id, transformation) VALUES (?, ?, ?)`), a.ID, p.AssetID, p.Transformation)
			if code := dx.ErrorCode(s.mapErr(err)); code == dx.EInvalid || code == dx.EConflict {
				return dx.Errorf(code, "上游资产 %q 无效或重复 / parent asset %q is unknown or repeated", p.AssetID, p.AssetID)
			} else if err != nil {
				return err
			}
		}
		if err := s.insertVersion(ctx, tx, v); err != nil {
			return err
		}
		if err := s.d.WriteSearch(ctx, tx, a.ID, sd.Title, sd.Body); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// AddVersion appends the next version of an asset.
func (s *DB) AddVersion(ctx context.Context, v asset.Version, sd asset.Search, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		level := 0
		if v.Classification != nil {
			level = v.Classification.Level
		}
		res, err := s.exec(ctx, tx, s.q(`UPDATE assets SET latest_version = ?, format = ?, updated_at = ?, grade = ? WHERE id = ? AND latest_version = ?`),
			v.Number, v.SourceFormat, micros(v.CreatedAt), level, v.AssetID, v.Number-1)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return dx.Errorf(dx.EConflict, "数据资产已有更新的版本 / the asset has a newer version than %d", v.Number-1)
		}
		if err := s.insertVersion(ctx, tx, v); err != nil {
			return err
		}
		if err := s.d.WriteSearch(ctx, tx, v.AssetID, sd.Title, sd.Body); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

// UpdateAsset replaces metadata and rights.
func (s *DB) UpdateAsset(ctx context.Context, a asset.Asset, sd asset.Search, events []dx.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.writeAsset(ctx, tx, a, false); err != nil {
			return err
		}
		if err := s.writeRights(ctx, tx, a); err != nil {
			return err
		}
		if err := s.d.WriteSearch(ctx, tx, a.ID, sd.Title, sd.Body); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, events)
	})
}

const assetCols = `a.id, a.owner_id, a.name, a.meta, a.format, a.latest_version, a.created_at, a.updated_at, a.grade`

func scanAsset(sc interface{ Scan(...any) error }, extra ...any) (asset.Asset, error) {
	var a asset.Asset
	var meta string
	var created, updated int64
	dst := append([]any{&a.ID, &a.OwnerID, &a.Name, &meta, &a.Format, &a.LatestVersion, &created, &updated, &a.Grade}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return a, err
	}
	var row assetRow
	if err := json.Unmarshal([]byte(meta), &row); err != nil {
		return a, err
	}
	a.Meta, a.Rights, a.Lineage = row.Meta, row.Rights, row.Lineage
	if a.Lineage == nil {
		a.Lineage = []asset.Parent{}
	}
	if a.Meta.Keywords == nil {
		a.Meta.Keywords = []string{}
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

func assetNotFound(err error, id string) error {
	if err == sql.ErrNoRows {
		return dx.Errorf(dx.ENotFound, "数据资产不存在 / asset %q not found", id)
	}
	return err
}

// Asset returns an asset by ID.
func (s *DB) Asset(ctx context.Context, id string) (asset.Asset, error) {
	a, err := scanAsset(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+assetCols+` FROM assets a WHERE a.id = ?`), id))
	return a, s.mapErr(assetNotFound(err, id))
}

// AssetByName returns an owner's asset by name.
func (s *DB) AssetByName(ctx context.Context, ownerID, name string) (asset.Asset, error) {
	a, err := scanAsset(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT `+assetCols+` FROM assets a WHERE a.owner_id = ? AND a.name = ?`), ownerID, name))
	return a, s.mapErr(assetNotFound(err, name))
}

func scanVersion(sc interface{ Scan(...any) error }) (asset.Version, error) {
	var info string
	var v asset.Version
	if err := sc.Scan(&info); err != nil {
		return v, err
	}
	err := json.Unmarshal([]byte(info), &v)
	return v, err
}

// Versions lists an asset's versions, newest first.
func (s *DB) Versions(ctx context.Context, assetID string) ([]asset.Version, error) {
	rows, err := s.query(ctx, s.conn(ctx), s.q(`SELECT info FROM versions WHERE asset_id = ? ORDER BY number DESC`), assetID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []asset.Version{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		v.Sample = nil // listings stay small; Version has the sample
		out = append(out, v)
	}
	return out, s.mapErr(rows.Err())
}

// Version returns one version.
func (s *DB) Version(ctx context.Context, assetID string, number int) (asset.Version, error) {
	v, err := scanVersion(s.queryRow(ctx, s.conn(ctx), s.q(`SELECT info FROM versions WHERE asset_id = ? AND number = ?`), assetID, number))
	if err == sql.ErrNoRows {
		return v, dx.Errorf(dx.ENotFound, "版本 %d 不存在 / version %d not found", number, number)
	}
	return v, s.mapErr(err)
}

// Rendition returns a cached export's digest.
func (s *DB) Rendition(ctx context.Context, versionID, format string) (string, error) {
	var d string
	err := s.queryRow(ctx, s.conn(ctx), s.q(`SELECT digest FROM renditions WHERE version_id = ? AND format = ?`), versionID, format).Scan(&d)
	return d, s.mapErr(err)
}

// SaveRendition records a cached export; recording the same one twice is fine.
func (s *DB) SaveRendition(ctx context.Context, versionID, format, digest string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, s.q(`INSERT INTO renditions (version_id, format, digest) VALUES (?, ?, ?)`), versionID, format, digest)
		return err
	})
	if dx.ErrorCode(err) == dx.EConflict {
		return nil
	}
	return err
}
