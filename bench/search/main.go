// Command search measures catalog search latency over a large catalog: it seeds N assets
// with Chinese and English titles, descriptions, keywords and column names (if the store
// has none yet), then runs a mix of queries through catalog.Service and reports p50, p95
// and p99 per kind of query.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/store"
	"github.com/dxexchange/dx/store/postgres"
	"github.com/dxexchange/dx/store/sqlite"
)

var (
	cities  = []string{"杭州", "宁波", "温州", "上海", "北京", "深圳", "成都", "武汉", "西安", "南京", "苏州", "合肥"}
	topics  = []string{"交通流量", "医疗门诊", "教育资源", "企业信用", "空气质量", "人口统计", "气象观测", "农业产量", "金融交易", "电力负荷", "能源消耗", "零售销售", "物流运输", "旅游客流", "房地产成交", "水质监测", "公共安全", "社会保障"}
	kinds   = []string{"数据集", "统计表", "明细数据", "月度报表", "实时数据", "年度汇总"}
	english = []string{"traffic", "hospital", "education", "credit", "air", "population", "weather", "farm", "finance", "power", "energy", "retail", "logistics", "tourism", "housing", "water", "safety", "welfare"}
	columns = []string{"region_code", "date", "amount", "count", "station_id", "category", "price_fen", "visits", "speed_kmh", "score"}
	regions = []string{"330100", "330200", "330300", "310000", "110000", "440300", "510100", "420100", "610100", "320100", "320500", "340100"}
)

func main() {
	dsn := flag.String("db", "", "postgres:// URL, or empty for a SQLite file under -dir")
	dir := flag.String("dir", os.TempDir(), "directory for the SQLite file")
	n := flag.Int("n", 100_000, "assets in the catalog")
	queries := flag.Int("queries", 3000, "queries to time")
	flag.Parse()
	ctx := context.Background()
	var st store.Store
	var err error
	if *dsn != "" {
		st, err = postgres.Open(ctx, *dsn, true)
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(*dir, fmt.Sprintf("search-bench-%d.db", *n)), true)
	}
	check(err)
	defer st.Close()
	owners := seed(ctx, st, *n)
	svc := &catalog.Service{Store: st}
	viewer := dx.WithPrincipal(ctx, dx.Principal{OrgID: owners[0], Roles: []string{"consumer"}, Scopes: []string{"read"}})
	r := mrand.New(mrand.NewPCG(7, 7))
	type kind struct {
		name string
		q    func() catalog.Query
	}
	kinds := []kind{
		{"zh 2-char", func() catalog.Query {
			return catalog.Query{Text: []string{"医疗", "交通", "教育", "信用", "空气", "人口"}[r.IntN(6)]}
		}},
		{"zh city+topic", func() catalog.Query {
			return catalog.Query{Text: cities[r.IntN(len(cities))] + topics[r.IntN(len(topics))][:6]}
		}},
		{"mixed zh/en", func() catalog.Query {
			return catalog.Query{Text: english[r.IntN(len(english))] + " " + cities[r.IntN(len(cities))]}
		}},
		{"column name", func() catalog.Query { return catalog.Query{Text: columns[r.IntN(len(columns))]} }},
		{"filter only", func() catalog.Query {
			return catalog.Query{Industry: string(rune('A' + r.IntN(20))), Region: regions[r.IntN(len(regions))][:2] + "0000"}
		}},
		{"zh + filters", func() catalog.Query {
			return catalog.Query{Text: topics[r.IntN(len(topics))][:6], Industry: string(rune('A' + r.IntN(20)))}
		}},
		{"list page 2", func() catalog.Query {
			p, _ := svc.Search(viewer, catalog.Query{Limit: 20})
			return catalog.Query{Limit: 20, Cursor: p.NextCursor}
		}},
		{"search page 2", func() catalog.Query {
			p, _ := svc.Search(viewer, catalog.Query{Text: "数据", Limit: 20})
			return catalog.Query{Text: "数据", Limit: 20, Cursor: p.NextCursor}
		}},
	}
	var all []time.Duration
	fmt.Printf("%-14s %8s %8s %8s %8s %6s\n", "query", "p50 ms", "p95 ms", "p99 ms", "max ms", "hits")
	for _, k := range kinds {
		var ds []time.Duration
		hits := 0
		for range *queries / len(kinds) {
			q := k.q()
			start := time.Now()
			page, err := svc.Search(viewer, q)
			d := time.Since(start)
			check(err)
			hits += len(page.Hits)
			ds = append(ds, d)
		}
		all = append(all, ds...)
		p := pct(ds)
		fmt.Printf("%-14s %8.2f %8.2f %8.2f %8.2f %6.1f\n", k.name, p[0], p[1], p[2], p[3], float64(hits)/float64(len(ds)))
	}
	p := pct(all)
	fmt.Printf("%-14s %8.2f %8.2f %8.2f %8.2f\n", "ALL", p[0], p[1], p[2], p[3])
}

func pct(ds []time.Duration) [4]float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(f float64) float64 {
		return float64(s[min(len(s)-1, int(f*float64(len(s))))].Microseconds()) / 1000
	}
	return [4]float64{at(0.50), at(0.95), at(0.99), float64(s[len(s)-1].Microseconds()) / 1000}
}

// seed creates the providers and assets unless the store already has them; it returns
// the organisation IDs (the first is a consumer).
func seed(ctx context.Context, st store.Store, n int) []string {
	orgs, err := st.Orgs(ctx)
	check(err)
	var ids []string
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	if len(ids) > 0 {
		return ids
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 50 {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		o := party.Org{ID: dx.NewID(dx.PrefixOrg, now), Name: fmt.Sprintf("org-%02d", i), Roles: []string{"provider", "consumer"}, PublicKey: pub, CreatedAt: now}
		tok := party.Token{ID: dx.NewID(dx.PrefixToken, now), OrgID: o.ID, Name: "t", Scopes: []string{"read"}, Hash: []byte("x"), CreatedAt: now}
		check(st.CreateOrg(ctx, o, key, tok, nil))
		ids = append(ids, o.ID)
	}
	start := time.Now()
	var wg sync.WaitGroup
	workers := 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(w), 1))
			for i := w; i < n; i += workers {
				city, topic := cities[r.IntN(len(cities))], topics[r.IntN(len(topics))]
				at := now.Add(-time.Duration(r.IntN(1_000_000)) * time.Second)
				vis := asset.Listed
				if r.IntN(10) == 0 {
					vis = asset.Private
				}
				a := asset.Asset{ID: dx.NewID(dx.PrefixAsset, at), OwnerID: ids[r.IntN(len(ids))], Name: fmt.Sprintf("a-%d", i),
					Meta: asset.Meta{
						Title:       asset.Text{Zh: city + topic + kinds[r.IntN(len(kinds))], En: english[slices.Index(topics, topic)] + " data " + fmt.Sprint(i)},
						Description: asset.Text{Zh: city + "市" + topic + "相关的数据，按日更新。"},
						Keywords:    []string{topic[:6], english[r.IntN(len(english))]},
						Industry:    string(rune('A' + r.IntN(20))), Region: regions[r.IntN(len(regions))], Frequency: "daily", Visibility: vis},
					Format: "csv", LatestVersion: 1, CreatedAt: at, UpdatedAt: at, Lineage: []asset.Parent{}}
				a.Rights = asset.Rights{Holder: a.OwnerID, ProcessingUse: []string{a.OwnerID}, ProductOperator: a.OwnerID}
				var cols []engine.Column
				for range 4 {
					cols = append(cols, engine.Column{Name: columns[r.IntN(len(columns))], Type: "VARCHAR"})
				}
				v := asset.Version{ID: dx.NewID(dx.PrefixVersion, at), AssetID: a.ID, Number: 1, Digest: "x", CreatedAt: at, Columns: cols}
				err := st.CreateAsset(ctx, a, v, asset.SearchDoc(a, cols), nil)
				for dx.ErrorCode(err) == dx.EConflict && strings.Contains(err.Error(), "busy") {
					err = st.CreateAsset(ctx, a, v, asset.SearchDoc(a, cols), nil)
				}
				check(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("seeded %d assets in %.1f s\n", n, time.Since(start).Seconds())
	return ids
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
