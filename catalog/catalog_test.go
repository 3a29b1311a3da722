package catalog

import (
	"context"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
)

// countingStore answers CountMatches with a fixed count and records the queries it gets.
type countingStore struct {
	matches int
	got     []StoreQuery
}

func (c *countingStore) Search(ctx context.Context, q StoreQuery) ([]Hit, error) {
	c.got = append(c.got, q)
	var hits []Hit
	for i := range q.Limit {
		hits = append(hits, Hit{Asset: asset.Asset{ID: string(rune('a' + i))}})
	}
	return hits, nil
}

func (c *countingStore) CountMatches(ctx context.Context, terms []string, max int) (int, error) {
	return min(c.matches, max+1), nil
}

func TestBroadSearchesGoByFreshness(t *testing.T) {
	ctx := dx.WithPrincipal(context.Background(), dx.Principal{OrgID: "org_x"})
	for _, tt := range []struct {
		matches int
		order   string
	}{{10, "relevance"}, {RankLimit, "relevance"}, {RankLimit + 1, "freshness"}} {
		st := &countingStore{matches: tt.matches}
		svc := Service{Store: st}
		page, err := svc.Search(ctx, Query{Text: "数据", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if page.Order != tt.order || st.got[0].Fresh != (tt.order == "freshness") || len(page.Hits) != 2 || page.NextCursor == "" {
			t.Fatalf("%d matches: page %+v, store query %+v", tt.matches, page, st.got[0])
		}
		// The next page keeps the order even if the count changed meanwhile.
		st.matches = 0
		if _, err := svc.Search(ctx, Query{Text: "数据", Limit: 2, Cursor: page.NextCursor}); err != nil {
			t.Fatal(err)
		}
		if st.got[1].Fresh != st.got[0].Fresh || st.got[1].After == nil {
			t.Fatalf("second page query %+v", st.got[1])
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := dx.WithPrincipal(context.Background(), dx.Principal{OrgID: "org_x"})
	svc := Service{Store: &countingStore{}}
	for _, q := range []Query{{Cursor: "!!!"}, {Cursor: "e30"}, {Region: "999999"}, {Region: "33"}} {
		if _, err := svc.Search(ctx, q); dx.ErrorCode(err) != dx.EInvalid {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
	if _, err := svc.Search(context.Background(), Query{}); dx.ErrorCode(err) != dx.EUnauthorized {
		t.Errorf("anonymous search: %v", err)
	}
	page, err := svc.Search(ctx, Query{Text: "!!!"})
	if err != nil || len(page.Hits) != 0 {
		t.Errorf("punctuation-only query: %+v %v", page, err)
	}
}
