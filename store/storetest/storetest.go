// Package storetest is the conformance suite that every store.Store backend passes:
// SQLite in every test run, PostgreSQL when DX_TEST_POSTGRES names a database.
package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/access"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/outbox"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/store"
	"github.com/dxexchange/dx/textsearch"
)

// Run runs the suite; open must return a new, empty, migrated store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Bootstrap", testBootstrap},
		{"OrgsAndTokens", testOrgsAndTokens},
		{"Members", testMembers},
		{"Assets", testAssets},
		{"Search", testSearch},
		{"Grants", testGrants},
		{"EventsAtomic", testEventsAtomic},
		{"UnitOfWork", testUnitOfWork},
		{"Changes", testChanges},
		{"AuditLog", testAuditLog},
		{"Grades", testGrades},
		{"Contracts", testContracts},
		{"CrossBorderLedger", testCrossBorderLedger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func ev(action, subject string) dx.Event {
	return dx.NewEvent(t0, dx.Principal{OrgID: "system"}, action, subject, map[string]any{"x": 1})
}

func newOrg(t *testing.T, s store.Store, name string, roles ...string) party.Org {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	o := party.Org{ID: dx.NewID(dx.PrefixOrg, t0), Name: name, Roles: roles, PublicKey: pub, CreatedAt: t0}
	tok := party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: o.ID, Name: "t", Scopes: []string{"read"}, Hash: []byte("h"), CreatedAt: t0}
	if err := s.CreateOrg(context.Background(), o, key, tok, []dx.Event{ev("org.create", o.ID)}); err != nil {
		t.Fatal(err)
	}
	return o
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if dx.ErrorCode(err) != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

func testBootstrap(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.BootstrapOrg(ctx)
	wantCode(t, err, dx.ENotFound)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, key, _ := ed25519.GenerateKey(rand.Reader)
			o := party.Org{ID: dx.NewID(dx.PrefixOrg, t0), Name: fmt.Sprintf("op%d", i), Roles: []string{"operator"}, PublicKey: pub, CreatedAt: t0}
			tok := party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: o.ID, Name: "t", Scopes: []string{"admin"}, Hash: []byte("h"), CreatedAt: t0}
			err := s.Bootstrap(ctx, o, key, tok, []dx.Event{ev("org.create", o.ID)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if dx.ErrorCode(err) != dx.EConflict {
				t.Errorf("bootstrap: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d bootstraps succeeded, want exactly 1", wins)
	}
	id, err := s.BootstrapOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orgs, _ := s.Orgs(ctx)
	if len(orgs) != 1 || orgs[0].ID != id {
		t.Fatalf("orgs after bootstrap race: %+v", orgs)
	}
	evs, _ := s.Events(ctx, 0, 100)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1: losers must leave none", len(evs))
	}
}

func testOrgsAndTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "上海数据公司", "provider")
	got, err := s.Org(ctx, o.ID)
	if err != nil || got.Name != o.Name || string(got.PublicKey) != string(o.PublicKey) || !got.CreatedAt.Equal(t0) || got.Roles[0] != "provider" {
		t.Fatalf("Org = %+v, %v", got, err)
	}
	key, err := s.SigningKey(ctx, o.ID)
	if err != nil || !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(o.PublicKey)) {
		t.Fatalf("signing key does not match the public key: %v", err)
	}
	pub, k2, _ := ed25519.GenerateKey(rand.Reader)
	dup := party.Org{ID: dx.NewID(dx.PrefixOrg, t0), Name: o.Name, Roles: []string{"consumer"}, PublicKey: pub, CreatedAt: t0}
	err = s.CreateOrg(ctx, dup, k2, party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: dup.ID, Name: "t", Scopes: []string{"read"}, Hash: []byte("h"), CreatedAt: t0}, nil)
	wantCode(t, err, dx.EConflict)
	_, err = s.Org(ctx, dup.ID)
	wantCode(t, err, dx.ENotFound)

	tok := party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: o.ID, Name: "ci", Scopes: []string{"read", "write"}, Hash: []byte("hash"), CreatedAt: t0}
	if err := s.CreateToken(ctx, tok, []dx.Event{ev("token.create", tok.ID)}); err != nil {
		t.Fatal(err)
	}
	toks, _ := s.Tokens(ctx, o.ID)
	if len(toks) != 2 {
		t.Fatalf("%d tokens, want 2", len(toks))
	}
	other := newOrg(t, s, "other", "consumer")
	wantCode(t, s.RevokeToken(ctx, other.ID, tok.ID, t0, nil), dx.ENotFound) // not its token
	if err := s.RevokeToken(ctx, o.ID, tok.ID, t0.Add(time.Hour), []dx.Event{ev("token.revoke", tok.ID)}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RevokeToken(ctx, o.ID, tok.ID, t0, nil), dx.ENotFound) // twice
	got2, _ := s.Token(ctx, tok.ID)
	if got2.RevokedAt == nil || !got2.RevokedAt.Equal(t0.Add(time.Hour)) || string(got2.Hash) != "hash" {
		t.Fatalf("revoked token = %+v", got2)
	}
	_, err = s.Token(ctx, dx.NewID(dx.PrefixToken, t0))
	wantCode(t, err, dx.ENotFound)
}

func testMembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "org", "consumer")
	m := party.Member{ID: dx.NewID(dx.PrefixMember, t0), OrgID: o.ID, Name: "张三", Email: "zs@example.cn", CreatedAt: t0}
	if err := s.AddMember(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	m.ID = dx.NewID(dx.PrefixMember, t0)
	wantCode(t, s.AddMember(ctx, m, nil), dx.EConflict)
	ms, _ := s.Members(ctx, o.ID)
	if len(ms) != 1 || ms[0].Name != "张三" {
		t.Fatalf("members = %+v", ms)
	}
}

func newAsset(owner party.Org, name string, meta asset.Meta, at time.Time) (asset.Asset, asset.Version) {
	a := asset.Asset{ID: dx.NewID(dx.PrefixAsset, at), OwnerID: owner.ID, Name: name, Meta: meta, Format: "csv", LatestVersion: 1,
		Rights: asset.Rights{Holder: owner.ID, ProcessingUse: []string{owner.ID}, ProductOperator: owner.ID}, Lineage: []asset.Parent{}, CreatedAt: at, UpdatedAt: at}
	v := asset.Version{ID: dx.NewID(dx.PrefixVersion, at), AssetID: a.ID, Number: 1, Digest: "d1", RowCount: 3, CreatedAt: at,
		Columns: []engine.Column{{Name: "就诊人数", Type: "BIGINT"}}, Sample: [][]string{{"1"}}}
	return a, v
}

func testAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "hospital", "provider")
	meta := asset.Meta{Title: asset.Text{Zh: "门诊数据"}, Industry: "Q", Region: "330100", Visibility: asset.Listed, Keywords: []string{}}
	a, v := newAsset(o, "visits", meta, t0)
	if err := s.CreateAsset(ctx, a, v, asset.Search{}, []dx.Event{ev("asset.register", a.ID)}); err != nil {
		t.Fatal(err)
	}
	a2, v2 := newAsset(o, "visits", meta, t0)
	wantCode(t, s.CreateAsset(ctx, a2, v2, asset.Search{}, nil), dx.EConflict)
	a3, v3 := newAsset(o, "bad-rights", meta, t0)
	a3.Rights.ProcessingUse = []string{dx.NewID(dx.PrefixOrg, t0)}
	wantCode(t, s.CreateAsset(ctx, a3, v3, asset.Search{}, nil), dx.EInvalid)
	_, err := s.Asset(ctx, a3.ID)
	wantCode(t, err, dx.ENotFound)

	next := asset.Version{ID: dx.NewID(dx.PrefixVersion, t0), AssetID: a.ID, Number: 2, Digest: "d2", CreatedAt: t0.Add(time.Minute), SourceFormat: "parquet"}
	if err := s.AddVersion(ctx, next, asset.Search{}, nil); err != nil {
		t.Fatal(err)
	}
	stale := next
	stale.ID = dx.NewID(dx.PrefixVersion, t0)
	wantCode(t, s.AddVersion(ctx, stale, asset.Search{}, nil), dx.EConflict) // number 2 again
	got, err := s.AssetByName(ctx, o.ID, "visits")
	if err != nil || got.LatestVersion != 2 || got.Format != "parquet" || got.Meta.Title.Zh != "门诊数据" || got.Rights.Holder != o.ID {
		t.Fatalf("AssetByName = %+v, %v", got, err)
	}
	vs, _ := s.Versions(ctx, a.ID)
	if len(vs) != 2 || vs[0].Number != 2 || vs[1].Digest != "d1" {
		t.Fatalf("versions = %+v", vs)
	}
	v1, err := s.Version(ctx, a.ID, 1)
	if err != nil || v1.Columns[0].Name != "就诊人数" || len(v1.Sample) != 1 {
		t.Fatalf("version 1 = %+v, %v", v1, err)
	}
	_, err = s.Version(ctx, a.ID, 3)
	wantCode(t, err, dx.ENotFound)

	// Concurrent next versions: exactly one of several racing writers gets number 3.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := asset.Version{ID: dx.NewID(dx.PrefixVersion, t0), AssetID: a.ID, Number: 3, Digest: "d3", CreatedAt: t0}
			err := s.AddVersion(ctx, v, asset.Search{}, nil)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if dx.ErrorCode(err) != dx.EConflict {
				t.Errorf("AddVersion: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d writers made version 3", ok)
	}

	if _, err := s.Rendition(ctx, v.ID, "csv"); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("rendition before save: %v", err)
	}
	for range 2 {
		if err := s.SaveRendition(ctx, v.ID, "csv", "abc"); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := s.Rendition(ctx, v.ID, "csv"); err != nil || d != "abc" {
		t.Fatalf("rendition = %q, %v", d, err)
	}

	got.Meta.Visibility = asset.Private
	got.UpdatedAt = t0.Add(time.Hour)
	if err := s.UpdateAsset(ctx, got, asset.Search{}, nil); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Asset(ctx, a.ID); g.Meta.Visibility != asset.Private {
		t.Fatalf("update lost: %+v", g.Meta)
	}
}

func doc(a asset.Asset, cols ...string) asset.Search {
	return asset.Search{Title: textsearch.Document(a.Meta.Title.Zh, a.Meta.Title.En), Body: textsearch.Document(append(cols, a.Meta.Description.Zh)...)}
}

func testSearch(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := newOrg(t, s, "p1", "provider")
	p2 := newOrg(t, s, "p2", "provider")
	type spec struct {
		owner   party.Org
		name    string
		zh, en  string
		desc    string
		ind     string
		region  string
		vis     string
		columns []string
	}
	specs := []spec{
		{p1, "traffic", "杭州城市交通流量", "Hangzhou traffic flow", "", "G", "330100", asset.Listed, []string{"road_id"}},
		{p1, "clinic", "门诊就诊记录", "Clinic visits", "医疗机构每日就诊", "Q", "330100", asset.Listed, []string{"visit_date"}},
		{p2, "hospital", "医疗资源统计", "Hospital beds", "", "Q", "440300", asset.Listed, nil},
		{p2, "secret", "医疗内部数据", "Internal records only", "", "Q", "440300", asset.Private, nil},
		{p2, "edu", "教育统计", "Education", "学校", "P", "110000", asset.Open, []string{"交通补贴"}},
	}
	ids := map[string]string{}
	for i, sp := range specs {
		at := t0.Add(time.Duration(i) * time.Minute)
		a, v := newAsset(sp.owner, sp.name, asset.Meta{Title: asset.Text{Zh: sp.zh, En: sp.en}, Description: asset.Text{Zh: sp.desc}, Industry: sp.ind, Region: sp.region, Visibility: sp.vis}, at)
		if err := s.CreateAsset(ctx, a, v, doc(a, sp.columns...), nil); err != nil {
			t.Fatal(err)
		}
		ids[sp.name] = a.ID
	}
	search := func(q catalog.StoreQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 50
		}
		if q.Viewer == "" {
			q.Viewer = p1.ID
		}
		hits, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, h := range hits {
			names = append(names, h.Asset.Name)
		}
		return names
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	terms := textsearch.Query
	eq(search(catalog.StoreQuery{Terms: terms("医疗")}), "hospital", "clinic") // title beats description; secret is private
	eq(search(catalog.StoreQuery{Terms: terms("医疗"), Viewer: p2.ID}), "hospital", "secret", "clinic")
	eq(search(catalog.StoreQuery{Terms: terms("医疗"), All: true, Industry: "Q", RegionPrefix: "44"}), "hospital", "secret")
	eq(search(catalog.StoreQuery{Terms: terms("交通")}), "traffic", "edu") // title, then column name
	eq(search(catalog.StoreQuery{Terms: terms("traffic 交通")}), "traffic")
	eq(search(catalog.StoreQuery{Terms: terms("Hangzhou")}), "traffic")
	eq(search(catalog.StoreQuery{Terms: terms("visit_date")}), "clinic")
	eq(search(catalog.StoreQuery{Terms: terms("天气")}))
	eq(search(catalog.StoreQuery{}), "edu", "hospital", "clinic", "traffic") // newest first
	eq(search(catalog.StoreQuery{Provider: p1.ID}), "clinic", "traffic")
	eq(search(catalog.StoreQuery{RegionPrefix: "3301"}), "clinic", "traffic")
	eq(search(catalog.StoreQuery{UpdatedSince: t0.Add(2 * time.Minute), All: true}), "edu", "secret", "hospital")

	// Freshness order for broad searches, and the count that decides it.
	eq(search(catalog.StoreQuery{Terms: terms("医疗"), Fresh: true, All: true}), "secret", "hospital", "clinic")
	eq(search(catalog.StoreQuery{Terms: terms("医疗"), Fresh: true, All: true, Matches: catalog.DenseMatches + 1}), "secret", "hospital", "clinic")
	for q, want := range map[string]int{"医疗": 3, "统计": 2, "天气": 0, "hangzhou": 1} {
		if n, err := s.CountMatches(ctx, terms(q), 10); err != nil || n != want {
			t.Fatalf("CountMatches(%s) = %d, %v; want %d", q, n, err, want)
		}
	}
	if n, _ := s.CountMatches(ctx, terms("医疗"), 1); n != 2 {
		t.Fatalf("CountMatches with max 1 = %d, want 2 (max+1)", n)
	}
	if n, _ := s.CountMatches(ctx, terms("医疗"), 2); n != 3 {
		t.Fatalf("CountMatches with max 2 = %d, want 3", n)
	}
	svc := catalog.Service{Store: s}
	viewer := dx.WithPrincipal(ctx, dx.Principal{OrgID: p2.ID, Roles: []string{"provider"}})
	if page, err := svc.Search(viewer, catalog.Query{Text: "医疗"}); err != nil || page.Order != "relevance" || len(page.Hits) != 3 {
		t.Fatalf("service search = %+v, %v", page, err)
	}

	// Paging through everything, two at a time, when listing, ranking and by freshness.
	for _, q := range []catalog.StoreQuery{{All: true}, {Terms: terms("数据"), All: true}, {Terms: terms("统计"), All: true}, {Terms: terms("医疗"), All: true, Fresh: true}} {
		all := search(q)
		var paged []string
		q.Limit = 2
		for {
			hits, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				paged = append(paged, h.Asset.Name)
			}
			if len(hits) < 2 {
				break
			}
			last := hits[len(hits)-1]
			q.After = &catalog.Cursor{ID: last.Asset.ID, Score: last.Score, UpdatedAt: last.Asset.UpdatedAt, Fresh: q.Fresh}
		}
		eq(paged, all...)
	}
}

func testGrants(t *testing.T, s store.Store) {
	ctx := context.Background()
	prov := newOrg(t, s, "prov", "provider")
	cons := newOrg(t, s, "cons", "consumer")
	a, v := newAsset(prov, "x", asset.Meta{Title: asset.Text{En: "x"}, Industry: "A", Region: "100000", Visibility: asset.Listed}, t0)
	if err := s.CreateAsset(ctx, a, v, asset.Search{}, nil); err != nil {
		t.Fatal(err)
	}
	g := access.Grant{ID: dx.NewID(dx.PrefixGrant, t0), AssetID: a.ID, ConsumerID: cons.ID, ProviderID: prov.ID, Purpose: "科研", Status: access.Pending, CreatedAt: t0}
	if err := s.CreateGrant(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	g2 := g
	g2.ID = dx.NewID(dx.PrefixGrant, t0)
	wantCode(t, s.CreateGrant(ctx, g2, nil), dx.EConflict) // one live grant per consumer and asset
	_, err := s.ActiveGrant(ctx, a.ID, cons.ID)
	wantCode(t, err, dx.ENotFound)
	now := t0.Add(time.Hour)
	g.Status, g.DecidedAt = access.Approved, &now
	if err := s.DecideGrant(ctx, g, access.Pending, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DecideGrant(ctx, g, access.Pending, nil), dx.EConflict)
	if got, err := s.ActiveGrant(ctx, a.ID, cons.ID); err != nil || got.ID != g.ID || !got.DecidedAt.Equal(now) {
		t.Fatalf("active grant = %+v, %v", got, err)
	}
	for _, org := range []string{cons.ID, prov.ID, ""} {
		if gs, _ := s.Grants(ctx, org, access.Approved); len(gs) != 1 {
			t.Fatalf("grants of %q: %d", org, len(gs))
		}
	}
	if gs, _ := s.Grants(ctx, cons.ID, access.Pending); len(gs) != 0 {
		t.Fatalf("pending grants: %d", len(gs))
	}
}

func testEventsAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "o", "provider")
	before, _ := s.Events(ctx, 0, 1000)
	// A token for an unknown org fails on its foreign key: its event must not survive.
	bad := party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: dx.NewID(dx.PrefixOrg, t0), Name: "t", Scopes: []string{"read"}, Hash: []byte("h"), CreatedAt: t0}
	if err := s.CreateToken(ctx, bad, []dx.Event{ev("token.create", bad.ID)}); err == nil {
		t.Fatal("token for an unknown organisation was stored")
	}
	e1, e2 := ev("a.one", o.ID), ev("a.two", o.ID)
	if err := s.RecordEvents(ctx, []dx.Event{e1, e2}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Events(ctx, 0, 1000)
	if len(after) != len(before)+2 {
		t.Fatalf("%d events, want %d", len(after), len(before)+2)
	}
	last := after[len(after)-2:]
	if last[0].ID != e1.ID || last[1].ID != e2.ID || last[0].Seq >= last[1].Seq || string(last[0].Payload) != `{"x":1}` || !last[0].Time.Equal(t0) {
		t.Fatalf("events = %+v", last)
	}
	page, _ := s.Events(ctx, last[0].Seq, 10)
	if len(page) != 1 || page[0].ID != e2.ID {
		t.Fatalf("events after %d = %+v", last[0].Seq, page)
	}
}

// testUnitOfWork: writes in a unit commit together or not at all; reads in the unit see
// its own writes; a failed write inside a unit undoes only itself.
func testUnitOfWork(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "o", "provider")
	count := func() int { e, _ := s.Events(ctx, 0, 1000); return len(e) }
	base := count()
	msg := func(id string) outbox.Message {
		return outbox.Message{ID: id, URL: "http://peer.example/x", Body: []byte("{}"), NextAt: t0, CreatedAt: t0}
	}
	boom := errors.New("boom")
	err := s.Atomically(ctx, func(ctx context.Context) error {
		if err := s.RecordEvents(ctx, []dx.Event{ev("unit.one", o.ID)}); err != nil {
			return err
		}
		if err := s.Enqueue(ctx, msg("m1")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != base {
		t.Fatalf("a failed unit left writes behind: %v, %d events (want %d)", err, count(), base)
	}
	if got, _ := s.Claim(ctx, t0, time.Minute, 10); len(got) != 0 {
		t.Fatalf("a failed unit left an outbound message: %+v", got)
	}
	err = s.Atomically(ctx, func(ctx context.Context) error {
		if err := s.RecordEvents(ctx, []dx.Event{ev("unit.two", o.ID)}); err != nil {
			return err
		}
		if e, _ := s.Events(ctx, 0, 1000); len(e) != base+1 {
			return fmt.Errorf("inside the unit %d events, want %d", len(e), base+1)
		}
		// A failing step (a token for an unknown org) undoes itself, not the unit.
		bad := party.Token{ID: dx.NewID(dx.PrefixToken, t0), OrgID: dx.NewID(dx.PrefixOrg, t0), Name: "t", Scopes: []string{"read"}, Hash: []byte("h"), CreatedAt: t0}
		if err := s.CreateToken(ctx, bad, []dx.Event{ev("token.create", bad.ID)}); err == nil {
			return errors.New("token for an unknown organisation was stored")
		}
		return s.Enqueue(ctx, msg("m2"))
	})
	if err != nil || count() != base+1 {
		t.Fatalf("unit: %v, %d events (want %d)", err, count(), base+1)
	}
	if got, _ := s.Claim(ctx, t0, time.Minute, 10); len(got) != 1 || got[0].ID != "m2" {
		t.Fatalf("outbound messages after the unit: %+v", got)
	}
}

// testChanges: a watcher of a subject is woken when an event about it commits, not by a
// rolled-back one nor by other subjects.
func testChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	a, b := s.Changes("subject-a"), s.Changes("subject-b")
	s.Atomically(ctx, func(ctx context.Context) error {
		s.RecordEvents(ctx, []dx.Event{ev("x.rolled-back", "subject-a")})
		return errors.New("roll back")
	})
	if closed(a) {
		t.Fatal("a rolled-back event woke its watcher")
	}
	if err := s.RecordEvents(ctx, []dx.Event{ev("x.done", "subject-a")}); err != nil {
		t.Fatal(err)
	}
	if !closed(a) || closed(b) {
		t.Fatalf("after an event about a: a woken %v, b woken %v", closed(a), closed(b))
	}
	if closed(s.Changes("subject-a")) {
		t.Fatal("a new watcher of a is woken by the past")
	}
}

// testGrades: a version's grade round-trips, and its event is written with it.
func testGrades(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := newOrg(t, s, "o", "provider")
	a, v := newAsset(o, "graded", asset.Meta{}, t0)
	if err := s.CreateAsset(ctx, a, v, doc(a), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Grade(ctx, v.ID); dx.ErrorCode(err) != dx.ENotFound {
		t.Fatalf("grade of an ungraded version: %v", err)
	}
	g := asset.Grade{VersionID: v.ID, AssetID: a.ID, Proposal: &classify.Proposal{Level: 3, Sensitive: true, Reasons: []string{"r"}},
		Level: 4, Core: true, DecidedBy: o.ID, Reason: "why", UpdatedAt: t0}
	if err := s.SaveGrade(ctx, g, []dx.Event{ev("asset.graded", v.ID)}); err != nil {
		t.Fatal(err)
	}
	g.Level, g.Core = 2, false
	if err := s.SaveGrade(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Grade(ctx, v.ID)
	if err != nil || got.Level != 2 || got.Core || got.Proposal == nil || got.Proposal.Level != 3 || !got.Proposal.Sensitive || got.Reason != "why" || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("grade = %+v %v", got, err)
	}
}
