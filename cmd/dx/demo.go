package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/party"
)

// runDemo starts an exchange with demo organisations and generated datasets, prints how
// to use it, and serves until interrupted.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	cfg.Addr = "127.0.0.1:8080"
	cfg.Data = ""
	cfg.LogLevel = "warn"
	fs := cfg.flags("demo", stderr)
	rows := fs.Int("rows", 1_000_000, "rows in the largest demo dataset")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if cfg.Data == "" {
		dir, err := os.MkdirTemp("", "dx-demo-")
		if err != nil {
			return err
		}
		cfg.Data = dir
	}
	if cfg.PeersFile == "" {
		cfg.PeersFile = filepath.Join(cfg.Data, "peers.json")
	}
	log := cfg.logger(stderr)
	x, err := openExchange(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer x.Close()
	operator, opToken, err := x.bootstrap(ctx, io.Discard)
	if err != nil {
		return err
	}
	if opToken == "" {
		return fmt.Errorf("数据目录 %s 已有交易所，请换一个空目录 / %s already holds an exchange: use an empty --data directory", cfg.Data, cfg.Data)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if err := x.start(ctx, operator, ln.Addr().String()); err != nil {
		return err
	}
	served := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { served <- x.serve(sctx, ln) }()

	fmt.Fprintf(stdout, "正在生成演示数据（%d 行的最大数据集）… / generating demo data (largest dataset: %d rows)…\n", *rows, *rows)
	d, err := seedDemo(ctx, client.New(url, opToken), filepath.Join(cfg.Data, "demo-files"), *rows)
	if err != nil {
		return err
	}
	n2, err := startSecondNode(sctx, cfg, x, d, log)
	if err != nil {
		return fmt.Errorf("second node: %w", err)
	}
	fmt.Fprintf(stdout, `
dx 演示交易所已启动 / the dx demo exchange is running at %s
数据目录 / data directory: %s

令牌 Tokens:
  运营方 operator                         %s
  提供方 provider  %-22s %s
  提供方 provider  %-22s %s
  提供方 provider  %-22s %s
  需求方 consumer  %-22s %s
  需求方 consumer  %-22s %s
  监管方 regulator %-22s %s

接下来试试 / try next (in another terminal, from this directory):
  export DX_SERVER=%s DX_TOKEN=%s
  1. go run ./cmd/dx catalog search 医疗
  2. go run ./cmd/dx access request %s --purpose "区域门诊负荷研究 / outpatient load research"
     DX_TOKEN=%s go run ./cmd/dx access approve <grant ID printed above>
  3. go run ./cmd/dx fetch %s -o visits.csv

用合同使用数据 / use data under a contract (auto-approved, signed by both, counted):
  go run ./cmd/dx offer list %s
  go run ./cmd/dx contract request %s
  go run ./cmd/dx fetch %s -o traffic.csv
  go run ./cmd/dx agreement list

第二个节点（需求方的连接器）/ a second node, a consumer's own connector: %s
它与交易所用签名的 DSP 消息协商了交通数据并发起传输 / it negotiated the traffic data with the exchange over signed DSP messages and started a transfer:
  export DX_SERVER=%s DX_TOKEN=%s
  go run ./cmd/dx peer negotiations
  go run ./cmd/dx peer pull %s -o traffic-remote.csv

数据可用不可见：对仅可计算的数据做差分隐私查询 / compute in place: differentially private queries on data that never leaves
  export DX_SERVER=%s DX_TOKEN=%s   # 浙江大学公共卫生研究所 (compute-only agreement, ε ≤ 1 per query, 10 in total)
  go run ./cmd/dx query %s --purpose research.academic \
    "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1, delta=1e-7, max_groups_contributed=1) district, COUNT(*, contribution_bounds_per_group => (0, 7)) AS visits, AVG(cost_yuan, contribution_bounds_per_group => (0, 3000)) AS mean_cost FROM \"patient-visits\" GROUP BY district"
  go run ./cmd/dx query %s --purpose research.academic \
    "SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=0.5, max_groups_contributed=3) age_band, COUNT(*, contribution_bounds_per_group => (0, 3)) AS visits FROM \"patient-visits\" WHERE department = '儿科' GROUP BY age_band"
  go run ./cmd/dx fetch %s -o rows.csv     (refused: the agreement allows computing only)
  go run ./cmd/dx agreement list; go run ./cmd/dx compute budget <agreement ID>

审计日志（任何人可验证）/ the audit log, verifiable by anyone (%s):
  go run ./cmd/dx audit verify --server %s --vkey %s
  go run ./cmd/dx audit verify --server %s --vkey %s --subject %s   (the traffic data's history)

按 Ctrl-C 停止 / press Ctrl-C to stop.
`, url, cfg.Data, opToken,
		d.orgs[0].Org.Name, d.orgs[0].Token, d.orgs[1].Org.Name, d.orgs[1].Token, d.orgs[2].Org.Name, d.orgs[2].Token,
		d.orgs[3].Org.Name, d.orgs[3].Token, d.orgs[4].Org.Name, d.orgs[4].Token, d.orgs[5].Org.Name, d.orgs[5].Token,
		url, d.orgs[3].Token, d.visits, d.orgs[0].Token, d.visits, d.traffic, d.offer, d.traffic,
		n2.url, n2.url, n2.token, n2.transfer,
		url, d.orgs[4].Token, d.patients, d.patients, d.patients,
		url+"/audit/checkpoint", url, x.auditLog.VKey, url, x.auditLog.VKey, d.traffic)
	return <-served
}

type demo struct {
	orgs []struct {
		Org   party.Org
		Token string
	}
	visits string // asset ID of the large hospital dataset
	// patients is the compute-only dataset (one row per visit, patient IDs), on which the
	// public health institute holds a compute-only agreement.
	patients string
	traffic  string // asset ID of the traffic dataset, offered under a contract
	offer    string // the traffic dataset's auto-approved offer
}

// trafficOffer is the demo's usage policy: 90 days from agreement, at most 100 uses by
// download or compute, attribution, no marketing, copies deleted within 30 days after.
const trafficOffer = `{"@type":"Offer","profile":"https://dx.example/ns/v1/profile",
 "permission":[{"action":"use","constraint":[
   {"leftOperand":"odrl:elapsedTime","operator":"lteq","rightOperand":"P90D"},
   {"leftOperand":"odrl:count","operator":"lteq","rightOperand":"100"},
   {"leftOperand":"odrl:deliveryChannel","operator":"isAnyOf","rightOperand":["https://dx.example/ns/v1/channel/download","https://dx.example/ns/v1/channel/compute"]}],
  "duty":[{"action":"odrl:attribute","constraint":[{"leftOperand":"https://dx.example/ns/v1/attributionText","operator":"eq","rightOperand":"数据来源：杭州市交通运输局 / Source: Hangzhou Transport Bureau"}]}]}],
 "prohibition":[{"action":"use","constraint":[{"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/marketing"}]}],
 "obligation":[{"action":"odrl:delete","constraint":[{"leftOperand":"odrl:elapsedTime","operator":"lteq","rightOperand":"P30D"}]}]}`

// computeOnlyOffer lets research use the patient data by differentially private
// queries only: at most ε = 1 per query and 10 in total.
const computeOnlyOffer = `{"@type":"Offer","profile":"https://dx.example/ns/v1/profile",
 "permission":[{"action":"use","constraint":[
   {"leftOperand":"odrl:deliveryChannel","operator":"eq","rightOperand":"https://dx.example/ns/v1/channel/compute"},
   {"leftOperand":"odrl:purpose","operator":"isA","rightOperand":"https://dx.example/ns/v1/purpose/research"},
   {"leftOperand":"https://dx.example/ns/v1/dpEpsilon","operator":"lteq","rightOperand":"1"},
   {"leftOperand":"https://dx.example/ns/v1/dpEpsilonTotal","operator":"lteq","rightOperand":"10"}]}]}`

// seedDemo creates the demo organisations and registers generated datasets over the API.
func seedDemo(ctx context.Context, op *client.Client, dir string, rows int) (demo, error) {
	var d demo
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return d, err
	}
	orgs := []party.NewOrg{
		{Name: "杭州市第一人民医院 Hangzhou First People's Hospital", USCC: "12330100470116614F", Roles: []string{"provider"}},
		{Name: "杭州市交通运输局 Hangzhou Transport Bureau", USCC: "11330100002489785M", Roles: []string{"provider"}},
		{Name: "浙江诚信数据服务有限公司 Zhejiang Credit Data Co.", USCC: "91330100MA2AXXXX1Q", Roles: []string{"provider", "consumer"}},
		{Name: "星火智能科技有限公司 Spark AI Tech", USCC: "91330106MA2BXXXX2K", Roles: []string{"consumer"}},
		{Name: "浙江大学公共卫生研究所 ZJU Public Health Institute", Roles: []string{"consumer"}},
		{Name: "杭州市数据资源管理局 Hangzhou Data Resources Bureau", Roles: []string{"regulator"}},
	}
	for _, n := range orgs {
		res, err := op.CreateOrg(ctx, n)
		if err != nil {
			return d, err
		}
		d.orgs = append(d.orgs, struct {
			Org   party.Org
			Token string
		}{res.Org, res.Token})
	}
	as := func(i int) *client.Client { return client.New(op.BaseURL, d.orgs[i].Token) }
	r := rand.New(rand.NewPCG(2026, 11))
	type dataset struct {
		owner int
		name  string
		file  string
		gen   func(w *bufio.Writer, r *rand.Rand) error
		gbk   bool
		meta  asset.Meta
	}
	sets := []dataset{
		{0, "outpatient-visits", "outpatient_visits.csv", func(w *bufio.Writer, r *rand.Rand) error { return genVisits(w, r, rows) }, false, asset.Meta{
			Title:       asset.Text{Zh: "杭州市门诊就诊记录（脱敏）", En: "Hangzhou outpatient visits (de-identified)"},
			Description: asset.Text{Zh: "按日期、区县、科室、年龄段统计的医疗门诊就诊明细，已去标识化。", En: "Outpatient visits by date, district, department and age band; de-identified."},
			Keywords:    []string{"医疗", "门诊", "卫生健康", "healthcare"}, Industry: "Q", Region: "330100", Frequency: "daily", Source: "医院信息系统 HIS", Licence: "授权使用 / licensed use", Visibility: asset.Listed}},
		{0, "patient-visits", "patient_visits.csv", genPatientVisits, false, asset.Meta{
			Title:       asset.Text{Zh: "门诊患者就诊明细（仅可计算，不可下载）", En: "Outpatient visits per patient (compute only, never downloaded)"},
			Description: asset.Text{Zh: "每行一次就诊，含患者编号、区县、年龄段、科室与费用。原始行不出域，只能通过差分隐私查询获得统计结果（数据可用不可见）。", En: "One row per visit with patient number, district, age band, department and cost. Rows never leave: only differentially private aggregates do."},
			Keywords:    []string{"医疗", "门诊", "隐私计算", "差分隐私", "differential privacy"}, Industry: "Q", Region: "330100", Frequency: "monthly", Visibility: asset.Listed}},
		{0, "department-capacity", "department_capacity.csv", genCapacity, false, asset.Meta{
			Title: asset.Text{Zh: "医院科室床位与医生配置（内部）", En: "Department beds and staffing (internal)"}, Industry: "Q", Region: "330100", Frequency: "monthly", Visibility: asset.Private}},
		{1, "traffic-flow", "traffic_flow.csv", genTraffic, false, asset.Meta{
			Title:       asset.Text{Zh: "城市道路交通流量", En: "Urban road traffic flow"},
			Description: asset.Text{Zh: "主要路口每 15 分钟的机动车流量与平均车速。", En: "Vehicle counts and mean speed per 15 minutes at major junctions."},
			Keywords:    []string{"交通", "流量", "traffic"}, Industry: "G", Region: "330100", Frequency: "realtime", Visibility: asset.Listed}},
		{1, "air-quality", "air_quality.ndjson", genAir, false, asset.Meta{
			Title:       asset.Text{Zh: "空气质量监测小时数据", En: "Hourly air quality readings"},
			Description: asset.Text{Zh: "各监测站 PM2.5、PM10、臭氧小时浓度（公共数据开放）。", En: "Hourly PM2.5, PM10 and ozone by station (open public data)."},
			Keywords:    []string{"环境", "空气", "open data"}, Industry: "N", Region: "330100", Frequency: "daily", Licence: "CC BY 4.0", Visibility: asset.Open}},
		{2, "enterprise-credit", "enterprise_credit_gbk.csv", genCredit, true, asset.Meta{
			Title:       asset.Text{Zh: "企业公共信用评价", En: "Enterprise public credit ratings"},
			Description: asset.Text{Zh: "浙江省企业信用等级与行政处罚次数（GBK 编码源文件）。", En: "Credit grades and penalty counts of Zhejiang enterprises (GBK source file)."},
			Keywords:    []string{"信用", "金融", "credit"}, Industry: "J", Region: "330000", Frequency: "monthly", Visibility: asset.Listed}},
		{2, "retail-sales", "retail_sales.tsv", genRetail, false, asset.Meta{
			Title:       asset.Text{Zh: "上海社区零售销售额", En: "Shanghai neighbourhood retail sales"},
			Description: asset.Text{Zh: "按门店与品类汇总的周销售额。", En: "Weekly sales by store and category."},
			Keywords:    []string{"零售", "消费", "retail"}, Industry: "F", Region: "310000", Frequency: "weekly", Visibility: asset.Listed}},
	}
	for _, s := range sets {
		path := filepath.Join(dir, s.file)
		if err := writeFile(path, s.gbk, func(w *bufio.Writer) error { return s.gen(w, r) }); err != nil {
			return d, err
		}
		f, err := os.Open(path)
		if err != nil {
			return d, err
		}
		res, err := as(s.owner).Register(ctx, asset.Register{Name: s.name, Meta: s.meta, FileName: s.file}, f)
		f.Close()
		if err != nil {
			return d, fmt.Errorf("registering %s: %w", s.name, err)
		}
		switch s.name {
		case "outpatient-visits":
			d.visits = res.Asset.ID
		case "patient-visits":
			d.patients = res.Asset.ID
			if _, err := as(s.owner).SetCompute(ctx, res.Asset.ID, compute.Settings{UnitColumn: "patient_id", MaxGroups: 3}); err != nil {
				return d, fmt.Errorf("compute setup on %s: %w", s.name, err)
			}
			o, err := as(s.owner).CreateOffer(ctx, res.Asset.ID, []byte(computeOnlyOffer), true)
			if err != nil {
				return d, fmt.Errorf("offer on %s: %w", s.name, err)
			}
			// The public health institute holds a compute-only agreement on it.
			if _, err := as(4).RequestContract(ctx, o.ID, nil, ""); err != nil {
				return d, fmt.Errorf("agreement on %s: %w", s.name, err)
			}
		case "traffic-flow":
			d.traffic = res.Asset.ID
			o, err := as(s.owner).CreateOffer(ctx, res.Asset.ID, []byte(trafficOffer), true)
			if err != nil {
				return d, fmt.Errorf("offer on %s: %w", s.name, err)
			}
			d.offer = o.ID
		}
	}
	return d, nil
}

func writeFile(path string, gbk bool, gen func(w *bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var out io.Writer = f
	if gbk {
		out = simplifiedchinese.GBK.NewEncoder().Writer(f)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if err := gen(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if c, ok := out.(io.Closer); ok && out != io.Writer(f) {
		c.Close()
	}
	return f.Close()
}

var districts = []struct{ code, name string }{
	{"330102", "上城区"}, {"330105", "拱墅区"}, {"330106", "西湖区"}, {"330108", "滨江区"}, {"330109", "萧山区"},
	{"330110", "余杭区"}, {"330111", "富阳区"}, {"330112", "临安区"}, {"330113", "临平区"}, {"330114", "钱塘区"},
}

var departments = []string{"内科", "外科", "儿科", "妇产科", "眼科", "口腔科", "皮肤科", "急诊科", "中医科", "康复科"}
var ageBands = []string{"0-6", "7-17", "18-39", "40-59", "60-79", "80+"}

// genPatientVisits writes 200,000 visits of 50,000 patients (1–7 visits each).
func genPatientVisits(w *bufio.Writer, r *rand.Rand) error {
	w.WriteString("patient_id,visit_date,district,age_band,department,cost_yuan\n")
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := 0
	for p := 0; rows < 200_000; p++ {
		d := districts[r.IntN(len(districts))]
		band := ageBands[r.IntN(len(ageBands))]
		for range 1 + r.IntN(7) {
			fmt.Fprintf(w, "H%07d,%s,%s,%s,%s,%d.%02d\n", 1000000+p, day.AddDate(0, 0, r.IntN(365)).Format("2006-01-02"), d.name, band,
				departments[r.IntN(len(departments))], 20+r.IntN(3000), r.IntN(100))
			rows++
		}
	}
	return nil
}

func genVisits(w *bufio.Writer, r *rand.Rand, rows int) error {
	w.WriteString("visit_date,district_code,district,department,age_band,gender,visits,cost_fen\n")
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var b []byte
	for i := range rows {
		d := districts[r.IntN(len(districts))]
		b = b[:0]
		b = day.AddDate(0, 0, i*365/rows).AppendFormat(b, "2006-01-02")
		b = append(b, ',')
		b = append(b, d.code...)
		b = append(b, ',')
		b = append(b, d.name...)
		b = append(b, ',')
		b = append(b, departments[r.IntN(len(departments))]...)
		b = append(b, ',')
		b = append(b, ageBands[r.IntN(len(ageBands))]...)
		b = append(b, ',')
		g := 3 * r.IntN(2)
		b = append(b, "男女"[g:g+3]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(1+r.IntN(40)), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(2000+r.IntN(500000)), 10)
		b = append(b, '\n')
		w.Write(b)
	}
	return nil
}

func genCapacity(w *bufio.Writer, r *rand.Rand) error {
	w.WriteString("department,beds,doctors,nurses\n")
	for _, d := range departments {
		fmt.Fprintf(w, "%s,%d,%d,%d\n", d, 20+r.IntN(100), 5+r.IntN(40), 10+r.IntN(80))
	}
	return nil
}

func genTraffic(w *bufio.Writer, r *rand.Rand) error {
	w.WriteString("\uFEFF路口编号,路口名称,时间,机动车流量,平均车速_kmh\n") // a BOM, as Excel writes it
	junctions := []string{"延安路-庆春路", "文三路-学院路", "莫干山路-文一路", "江南大道-长河路", "钱江路-新业路", "天目山路-古墩路"}
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		j := i % len(junctions)
		t := start.Add(time.Duration(i/len(junctions)) * 15 * time.Minute)
		fmt.Fprintf(w, "J%03d,%s,%s,%d,%.1f\n", j+1, junctions[j], t.Format("2006-01-02 15:04:05"), 50+r.IntN(900), 15+r.Float64()*45)
	}
	return nil
}

func genAir(w *bufio.Writer, r *rand.Rand) error {
	stations := []string{"西溪", "朝晖", "和睦", "卧龙桥", "滨江", "下沙", "临平", "云栖"}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50_000 {
		s := stations[i%len(stations)]
		t := start.Add(time.Duration(i/len(stations)) * time.Hour)
		fmt.Fprintf(w, `{"station":"%s","time":"%s","pm25":%d,"pm10":%d,"o3":%d}`+"\n", s, t.Format(time.RFC3339), 5+r.IntN(150), 10+r.IntN(200), 20+r.IntN(180))
	}
	return nil
}

func genCredit(w *bufio.Writer, r *rand.Rand) error {
	w.WriteString("企业名称,所属行业,信用等级,行政处罚次数,评价日期\n")
	prefixes := []string{"杭州", "宁波", "温州", "绍兴", "嘉兴", "湖州", "金华", "台州"}
	kinds := []string{"科技", "贸易", "制造", "物流", "餐饮", "建筑", "医药", "文化"}
	grades := []string{"A", "B", "C", "D"}
	for i := range 20_000 {
		p, k := prefixes[r.IntN(len(prefixes))], kinds[r.IntN(len(kinds))]
		fmt.Fprintf(w, "%s%s%s有限公司%d,%s,%s,%d,2025-%02d-%02d\n", p, "市", k, i, k, grades[r.IntN(4)], r.IntN(5), 1+r.IntN(12), 1+r.IntN(28))
	}
	return nil
}

func genRetail(w *bufio.Writer, r *rand.Rand) error {
	w.WriteString("store_id\tcategory\tweek\tsales_fen\n")
	cats := []string{"生鲜", "日用品", "酒水饮料", "母婴", "家电"}
	for i := range 30_000 {
		fmt.Fprintf(w, "S%04d\t%s\t2025-W%02d\t%d\n", i%500, cats[r.IntN(len(cats))], 1+(i/500)%52, 10000+r.IntN(5_000_000))
	}
	return nil
}

// secondNode is the demo's consumer connector.
type secondNode struct {
	url, token, transfer string
}

// startSecondNode starts a second dx node beside the demo exchange x (its own database
// and data directory), makes the two trust each other, and has a consumer organisation
// on it negotiate for the traffic offer and start a transfer across the nodes.
func startSecondNode(ctx context.Context, cfg Config, x *exchange, d demo, log *slog.Logger) (secondNode, error) {
	var n secondNode
	cfg2 := cfg
	cfg2.Data = filepath.Join(cfg.Data, "node2")
	cfg2.PeersFile = filepath.Join(cfg2.Data, "peers.json")
	cfg2.ParticipantID, cfg2.PublicURL = "", ""
	if err := os.MkdirAll(cfg2.Data, 0o750); err != nil {
		return n, err
	}
	x2, err := openExchange(ctx, cfg2, log)
	if err != nil {
		return n, err
	}
	operator, opToken, err := x2.bootstrap(ctx, io.Discard)
	if err != nil {
		return n, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return n, err
	}
	if err := x2.start(ctx, operator, ln.Addr().String()); err != nil {
		return n, err
	}
	go func() { x2.serve(ctx, ln); x2.Close() }()
	n.url = "http://" + ln.Addr().String()
	self := func(h *dsp.Handler) []byte {
		b, _ := json.Marshal([]dsp.Peer{{ParticipantID: h.ParticipantID, PublicKey: h.Key.Public().(ed25519.PublicKey), URL: h.PublicURL}})
		return b
	}
	if err := os.WriteFile(cfg.PeersFile, self(x2.server.DSP), 0o600); err != nil {
		return n, err
	}
	if err := os.WriteFile(cfg2.PeersFile, self(x.server.DSP), 0o600); err != nil {
		return n, err
	}
	res, err := client.New(n.url, opToken).CreateOrg(ctx, party.NewOrg{Name: "远方研究院 Remote Research Institute", Roles: []string{"consumer"}})
	if err != nil {
		return n, err
	}
	n.token = res.Token
	c := client.New(n.url, n.token)
	exchangeID := x.server.DSP.ParticipantID
	var neg api.RemoteNegotiationView
	if err := c.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": exchangeID, "dataset_id": dsp.DatasetID(d.traffic), "offer_id": d.offer}, &neg); err != nil {
		return n, err
	}
	agreement, err := followNegotiation(ctx, c, neg.ConsumerPID)
	if err != nil {
		return n, err
	}
	var tr contract.RemoteTransfer
	if err := c.Do(ctx, "POST", "/api/v1/peers/transfers", map[string]string{"participant": exchangeID, "agreement_id": agreement}, &tr); err != nil {
		return n, err
	}
	n.transfer = tr.ConsumerPID
	return n, followTransfer(ctx, c, tr.ConsumerPID)
}

// followNegotiation follows a negotiation with a peer on the consumer's node by long
// polls (each answers at the next change of state) until it is FINALIZED, and returns
// its agreement ID; a termination or ten seconds without an end is an error.
func followNegotiation(ctx context.Context, c *client.Client, pid string) (string, error) {
	state := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var r api.RemoteNegotiationView
		if err := c.Do(ctx, "GET", "/api/v1/peers/negotiations/"+url.PathEscape(pid)+"?wait=5s&changed_from="+state, nil, &r); err != nil {
			return "", err
		}
		switch {
		case r.State == contract.Finalized && r.Agreement != nil:
			return r.Agreement.Policy.ID, nil
		case r.State == contract.Terminated:
			return "", fmt.Errorf("协商已终止 / the negotiation was terminated: %s", r.Reason)
		}
		state = string(r.State)
	}
	return "", fmt.Errorf("the nodes did not finish in time")
}

// followTransfer follows a transfer from a peer by long polls until it is STARTED.
func followTransfer(ctx context.Context, c *client.Client, pid string) error {
	state := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var t contract.RemoteTransfer
		if err := c.Do(ctx, "GET", "/api/v1/peers/transfers/"+url.PathEscape(pid)+"?wait=5s&changed_from="+state, nil, &t); err != nil {
			return err
		}
		switch t.State {
		case contract.TransferStarted:
			return nil
		case contract.TransferTerminated, contract.TransferCompleted:
			return fmt.Errorf("传输已结束 / the transfer ended: %s %s", t.State, t.Reason)
		}
		state = string(t.State)
	}
	return fmt.Errorf("the nodes did not finish in time")
}
