// Package catalog lists and searches the assets an organisation may see: filters by
// industry, region (with the GB/T 2260 hierarchy), provider, format and update time,
// full-text search that works for Chinese (see textsearch), ranking, and opaque cursors
// for pagination.
package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/textsearch"
)

// Query is a catalog search.
type Query struct {
	Text         string    `json:"q,omitempty"`
	Industry     string    `json:"industry,omitempty"`
	Region       string    `json:"region,omitempty"`
	Provider     string    `json:"provider,omitempty"`
	Format       string    `json:"format,omitempty"`
	UpdatedSince time.Time `json:"updated_since,omitempty"`
	Limit        int       `json:"limit,omitempty"`
	Cursor       string    `json:"cursor,omitempty"`
}

// Cursor is a position in a result list: results continue after (Score, ID) when
// searching, after (UpdatedAt, ID) when listing.
type Cursor struct {
	Score     float64   `json:"s,omitempty"`
	UpdatedAt time.Time `json:"u,omitempty"`
	ID        string    `json:"i"`
}

// StoreQuery is a Query as the store runs it.
type StoreQuery struct {
	Terms        []string // all must match; none: list by UpdatedAt desc
	Industry     string
	RegionPrefix string // match asset regions starting with it; "" for any
	Provider     string
	Format       string
	UpdatedSince time.Time
	Viewer       string // the viewer's org: its private assets are included
	All          bool   // include every private asset (operators, regulators)
	After        *Cursor
	Limit        int
}

// Hit is one result. Score is higher for better matches (0 when listing).
type Hit struct {
	Asset asset.Asset `json:"asset"`
	Score float64     `json:"score"`
}

// Store is the persistence port of this package.
type Store interface {
	// Search returns up to q.Limit hits visible to the viewer, best first (by Score then
	// ID when searching; by UpdatedAt then ID, newest first, when listing), after q.After.
	Search(ctx context.Context, q StoreQuery) ([]Hit, error)
}

// Page is one page of results.
type Page struct {
	Hits       []Hit  `json:"hits"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Service searches the catalog.
type Service struct {
	Store Store
}

// MaxLimit bounds a page.
const MaxLimit = 100

// Search runs q for the caller.
func (s *Service) Search(ctx context.Context, q Query) (Page, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Page{}, err
	}
	sq := StoreQuery{Terms: textsearch.Query(q.Text), Industry: strings.ToUpper(q.Industry), Provider: q.Provider,
		Format: q.Format, UpdatedSince: q.UpdatedSince, Viewer: p.OrgID, All: p.SeesAll(), Limit: q.Limit}
	if strings.TrimSpace(q.Text) != "" && len(sq.Terms) == 0 {
		return Page{Hits: []Hit{}}, nil // only punctuation: nothing can match
	}
	if q.Region != "" {
		if !asset.ValidRegion(q.Region) {
			return Page{}, dx.Errorf(dx.EInvalid, "地区 %q 不是有效的 GB/T 2260 六位代码 / region %q is not a six-digit GB/T 2260 code", q.Region, q.Region)
		}
		sq.RegionPrefix = asset.RegionPrefix(q.Region)
	}
	if sq.Limit <= 0 {
		sq.Limit = 20
	}
	if sq.Limit > MaxLimit {
		sq.Limit = MaxLimit
	}
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c Cursor
		if err != nil || json.Unmarshal(raw, &c) != nil || c.ID == "" {
			return Page{}, dx.Errorf(dx.EInvalid, "分页游标无效 / invalid cursor")
		}
		sq.After = &c
	}
	sq.Limit++ // one more tells whether there is a next page
	hits, err := s.Store.Search(ctx, sq)
	if err != nil {
		return Page{}, err
	}
	page := Page{Hits: hits}
	if len(hits) == sq.Limit {
		page.Hits = hits[:len(hits)-1]
		last := page.Hits[len(page.Hits)-1]
		c := Cursor{ID: last.Asset.ID, Score: last.Score}
		if len(sq.Terms) == 0 {
			c = Cursor{ID: last.Asset.ID, UpdatedAt: last.Asset.UpdatedAt}
		}
		b, _ := json.Marshal(c)
		page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
	}
	if page.Hits == nil {
		page.Hits = []Hit{}
	}
	return page, nil
}
