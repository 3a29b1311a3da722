package sqldb

import (
	"context"
	"strings"

	"github.com/dxexchange/dx/catalog"
)

// Search runs a catalog query.
func (s *DB) Search(ctx context.Context, q catalog.StoreQuery) ([]catalog.Hit, error) {
	var where []string
	var args []any
	ts := TextSearch{Score: "0.0", From: "assets a"}
	ranked := len(q.Terms) > 0 && !q.Fresh
	if len(q.Terms) > 0 {
		ts = s.d.SearchSQL(q.Terms, ranked, q.Matches)
	}
	from, score := ts.From, ts.Score
	args = append(args, ts.ScoreArgs...)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if ts.Where != "" {
		add(ts.Where, ts.WhereArgs...)
	}
	if !q.All {
		add(`(a.visibility <> 'private' OR a.owner_id = ?)`, q.Viewer)
	}
	if q.Industry != "" {
		add(`a.industry = ?`, q.Industry)
	}
	if q.RegionPrefix != "" {
		add(`a.region LIKE ?`, q.RegionPrefix+"%")
	}
	if q.Provider != "" {
		add(`a.owner_id = ?`, q.Provider)
	}
	if q.Format != "" {
		add(`a.format = ?`, q.Format)
	}
	if !q.UpdatedSince.IsZero() {
		add(`a.updated_at >= ?`, micros(q.UpdatedSince))
	}
	cond := "1 = 1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	inner := `SELECT ` + assetCols + `, ` + score + ` AS score FROM ` + from + ` WHERE ` + cond
	var query string
	if ranked {
		query = `SELECT * FROM (` + inner + `) a`
		if q.After != nil {
			query += ` WHERE (a.score < ? OR (a.score = ? AND a.id > ?))`
			args = append(args, q.After.Score, q.After.Score, q.After.ID)
		}
		query += ` ORDER BY a.score DESC, a.id ASC LIMIT ?`
	} else {
		query = inner
		if q.After != nil {
			query += ` AND (a.updated_at, a.id) < (?, ?)` // a row value, which walks the index
			args = append(args, micros(q.After.UpdatedAt), q.After.ID)
		}
		query += ` ORDER BY a.updated_at DESC, a.id DESC LIMIT ?`
	}
	args = append(args, q.Limit)
	rows, err := s.conn(ctx).QueryContext(ctx, s.q(query), args...) // shapes vary: not cached
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	hits := []catalog.Hit{}
	for rows.Next() {
		var h catalog.Hit
		a, err := scanAsset(rows, &h.Score)
		if err != nil {
			return nil, s.mapErr(err)
		}
		h.Asset = a
		hits = append(hits, h)
	}
	return hits, s.mapErr(rows.Err())
}

// CountMatches counts assets containing all terms, up to max+1.
func (s *DB) CountMatches(ctx context.Context, terms []string, max int) (int, error) {
	q, args := s.d.CountSQL(terms, max)
	var n int
	err := s.conn(ctx).QueryRowContext(ctx, s.q(q), args...).Scan(&n) // shapes vary: not cached
	return n, s.mapErr(err)
}
