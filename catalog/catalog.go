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
	"github.com/dxexchange/dx/region"
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
// ranking, after (UpdatedAt, ID) when ordering by freshness.
type Cursor struct {
	Fresh     bool      `json:"f,omitempty"` // the list is in freshness order
	Score     float64   `json:"s,omitempty"`
	UpdatedAt time.Time `json:"u,omitempty"`
	ID        string    `json:"i"`
}

// RankLimit is the number of matches above which a text search is ordered by freshness
// instead of by relevance. Relevance (BM25 on SQLite, ts_rank on PostgreSQL) must be
// computed for every match before the best can be picked, at a few microseconds each; a
// query that matches more than this many assets (say 数据 on a data exchange) says little
// about what the user wants, so the newest matching assets are shown first, which an
// index yields without touching every match.
const RankLimit = 500

// DenseMatches is how far CountMatches counts: past it, a store may plan for a term that
// most assets contain (probing each asset in freshness order rather than listing matches).
const DenseMatches = 20000

// StoreQuery is a Query as the store runs it.
type StoreQuery struct {
	Terms        []string // all must match; none: list by UpdatedAt desc
	Fresh        bool     // with Terms: order by UpdatedAt desc instead of by relevance
	Matches      int      // with Terms: CountMatches up to DenseMatches+1, for the store's query plan
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
	// CountMatches returns how many assets contain all terms, counting at most max+1
	// (visibility and filters aside: it only sizes the search).
	CountMatches(ctx context.Context, terms []string, max int) (int, error)
}

// Page is one page of results.
type Page struct {
	Hits       []Hit  `json:"hits"`
	Order      string `json:"order"` // "relevance" or "freshness"
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
		return Page{Hits: []Hit{}, Order: "relevance"}, nil // only punctuation: nothing can match
	}
	if q.Region != "" {
		if !region.Valid(q.Region) {
			return Page{}, dx.Errorf(dx.EInvalid, "地区 %q 不是有效的 GB/T 2260 六位代码 / region %q is not a six-digit GB/T 2260 code", q.Region, q.Region)
		}
		sq.RegionPrefix = region.Prefix(q.Region)
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
	if len(sq.Terms) > 0 {
		n, err := s.Store.CountMatches(ctx, sq.Terms, DenseMatches)
		if err != nil {
			return Page{}, err
		}
		sq.Matches, sq.Fresh = n, n > RankLimit
		if sq.After != nil {
			sq.Fresh = sq.After.Fresh // a later page keeps its first page's order
		}
	}
	sq.Limit++ // one more tells whether there is a next page
	hits, err := s.Store.Search(ctx, sq)
	if err != nil {
		return Page{}, err
	}
	page := Page{Hits: hits, Order: "relevance"}
	if len(sq.Terms) == 0 || sq.Fresh {
		page.Order = "freshness"
	}
	if len(hits) == sq.Limit {
		page.Hits = hits[:len(hits)-1]
		last := page.Hits[len(page.Hits)-1]
		c := Cursor{ID: last.Asset.ID, Score: last.Score}
		if len(sq.Terms) == 0 || sq.Fresh {
			c = Cursor{ID: last.Asset.ID, UpdatedAt: last.Asset.UpdatedAt, Fresh: sq.Fresh}
		}
		b, _ := json.Marshal(c)
		page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
	}
	if page.Hits == nil {
		page.Hits = []Hit{}
	}
	return page, nil
}
