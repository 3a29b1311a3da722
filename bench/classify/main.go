// Command classify is the column-level benchmark of the classify package: it generates a
// seeded, labelled set of columns — valid identifiers with correct checksums and real
// region prefixes, corrupted the way real files are (full-width digits, separators,
// Excel quotes, nulls, a few wrong check characters), and hard decoys (random digits of
// the same lengths, wrong checksums, order numbers, snowflake IDs, timestamps, version
// strings, company names) — under informative, neutral and misleading headers, runs the
// column decision on each, and prints precision and recall per type and the scan speed.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/region"
)

type column struct {
	header string
	values []string
	label  classify.Type // "" for a decoy
}

var now = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func main() {
	seed := flag.Uint64("seed", 1, "random seed")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the scan to this file")
	perType := flag.Int("columns", 60, "columns per type and per decoy kind")
	rows := flag.Int("rows", 500, "values per column")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, *seed*7+1))
	g := &gen{r: r}
	var cols []column
	positives := map[classify.Type]struct {
		value   func() string
		headers []string
	}{
		classify.IDCardType:   {g.idCard, []string{"身份证号", "sfzh", "id_card", "col_a", "备注"}},
		classify.USCCType:     {g.uscc, []string{"统一社会信用代码", "tyshxydm", "credit_code", "col_b"}},
		classify.BankCardType: {g.card, []string{"银行卡号", "yhkh", "card_no", "col_c"}},
		classify.MobileType:   {g.mobile, []string{"手机号", "sjh", "mobile", "col_d"}},
		classify.PlateType:    {g.plate, []string{"车牌号", "cph", "plate", "col_e"}},
		classify.VINType:      {g.vin, []string{"车架号", "vin", "col_f"}},
		classify.EmailType:    {g.email, []string{"邮箱", "email", "col_g"}},
		classify.GPSType:      {g.gps, []string{"位置", "gps", "col_h"}},
		classify.NameType:     {g.name, []string{"姓名", "xingming", "name", "col_n"}},
		classify.AddressType:  {g.address, []string{"地址", "jtzz", "address", "col_o"}},
		classify.BirthType:    {g.birth, []string{"出生日期", "csrq", "birthday", "col_p"}},
		classify.FreeTextType: {g.note, []string{"备注", "remark", "beizhu", "col_q"}},
	}
	types := make([]classify.Type, 0, len(positives))
	for t := range positives {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, t := range types {
		p := positives[t]
		for i := range *perType {
			cols = append(cols, column{header: p.headers[i%len(p.headers)], values: g.fill(*rows, p.value, true), label: t})
		}
	}
	decoys := map[string]struct {
		value   func() string
		headers []string
	}{
		"random 18 digits": {func() string { return g.digits(18) }, []string{"col_x", "身份证号", "编码"}},
		"random 19 digits": {func() string { return g.digits(19) }, []string{"col_x", "银行卡号", "账户"}},
		"random 16 digits": {func() string { return g.digits(16) }, []string{"col_x", "卡号"}},
		"random 11 digits": {func() string { return "1" + g.digits(10) }, []string{"col_x", "客户号"}},
		"wrong ID checks":  {g.badID, []string{"col_x", "证件"}},
		"order numbers":    {g.orderNo, []string{"订单号", "手机号", "col_x"}},
		"snowflake IDs":    {g.snowflake, []string{"id", "col_x", "卡号"}},
		"timestamps":       {g.timestamp, []string{"ts", "col_x"}},
		"version strings":  {g.version, []string{"version", "col_x"}},
		"company names":    {g.company, []string{"单位", "col_x"}},
		"amounts":          {func() string { return fmt.Sprintf("%d.%02d", g.r.IntN(100000), g.r.IntN(100)) }, []string{"金额", "col_x"}},
		"notes without PI": {g.plainNote, []string{"备注", "remark", "col_x"}},
		"product words": {func() string {
			w := []string{"苹果", "香蕉", "电脑", "手机壳", "黄金", "白酒", "绿茶", "周边", "马克杯", "林地", "高铁票", "江景房", "金条", "朱砂"}
			return w[g.r.IntN(len(w))]
		}, []string{"商品", "名称", "col_x"}},
		"coordinates abroad": {func() string { return fmt.Sprintf("%.6f,%.6f", -70-g.r.Float64()*50, -10-g.r.Float64()*40) }, []string{"位置", "col_x"}},
	}
	dnames := make([]string, 0, len(decoys))
	for k := range decoys {
		dnames = append(dnames, k)
	}
	sort.Strings(dnames)
	for _, k := range dnames {
		d := decoys[k]
		for i := range *perType {
			cols = append(cols, column{header: d.headers[i%len(d.headers)], values: g.fill(*rows, d.value, false)})
		}
	}

	tp, fp, fn := map[classify.Type]int{}, map[classify.Type]int{}, map[classify.Type]int{}
	// recall split by whether the header names the type (the digest's ablation)
	hitH, allH, hitN, allN := map[classify.Type]int{}, map[classify.Type]int{}, map[classify.Type]int{}, map[classify.Type]int{}
	fpBy := map[classify.Type]map[string]int{}
	var bytes int
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for _, c := range cols {
		for _, v := range c.values {
			bytes += len(v)
		}
		res := classify.Classify(c.header, c.values, now)
		found := map[classify.Type]bool{}
		for _, f := range res.Findings {
			found[f.Type] = true
		}
		if c.label != "" {
			if classify.HeaderPrior(c.header, c.label) >= 0.5 {
				allH[c.label]++
				if found[c.label] {
					hitH[c.label]++
				}
			} else {
				allN[c.label]++
				if found[c.label] {
					hitN[c.label]++
				}
			}
		}
		for _, t := range types {
			switch {
			case found[t] && c.label == t:
				tp[t]++
			case found[t]:
				fp[t]++
				if fpBy[t] == nil {
					fpBy[t] = map[string]int{}
				}
				fpBy[t][c.header]++
			case c.label == t:
				fn[t]++
			}
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("%d columns × %d values (seed %d): %d positive columns of %d types, %d decoy columns of %d kinds\n\n",
		len(cols), *rows, *seed, len(types)**perType, len(types), len(dnames)**perType, len(dnames))
	fmt.Println("| type | strength | precision | recall | recall, header names it | recall, neutral or misleading header | TP | FP | FN |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	ratio := func(a, b int) string {
		if b == 0 {
			return "—"
		}
		return fmt.Sprintf("%.3f (%d)", float64(a)/float64(b), b)
	}
	for _, t := range types {
		prec := float64(tp[t]) / float64(max(1, tp[t]+fp[t]))
		rec := float64(tp[t]) / float64(max(1, tp[t]+fn[t]))
		fmt.Printf("| %s | %s | %.3f | %.3f | %s | %s | %d | %d | %d |\n", t, strength(t), prec, rec, ratio(hitH[t], allH[t]), ratio(hitN[t], allN[t]), tp[t], fp[t], fn[t])
	}
	for t, by := range fpBy {
		fmt.Printf("false positives of %s by header: %v\n", t, by)
	}
	fmt.Printf("\nscan: %.1f MB of values in %.2fs = %.1f MB/s on one core (%.0f columns/s)\n",
		float64(bytes)/1e6, elapsed.Seconds(), float64(bytes)/1e6/elapsed.Seconds(), float64(len(cols))/elapsed.Seconds())
}

func strength(t classify.Type) string {
	switch t {
	case classify.IDCardType, classify.USCCType, classify.BankCardType, classify.VINType:
		return "checksum"
	case classify.NameType, classify.AddressType:
		return "weak (header)"
	case classify.BirthType:
		return "header only"
	}
	return "format"
}

type gen struct{ r *rand.Rand }

func (g *gen) digits(n int) string {
	b := []byte{byte('1' + g.r.IntN(9))}
	for len(b) < n {
		b = append(b, byte('0'+g.r.IntN(10)))
	}
	return string(b)
}

// fill makes a column: positives get corruptions (nulls, full-width, spaces, Excel
// quotes, 1% wrong check characters).
func (g *gen) fill(n int, value func() string, corrupt bool) []string {
	out := make([]string, n)
	nulls := g.r.Float64() * 0.3
	for i := range out {
		v := value()
		if corrupt {
			switch x := g.r.Float64(); {
			case x < nulls:
				v = []string{"", "NULL", "-", "无"}[g.r.IntN(4)]
			case x < nulls+0.03:
				v = toFullWidth(v)
			case x < nulls+0.05:
				v = "'" + v
			case x < nulls+0.06 && len(v) > 1:
				v = v[:len(v)-1] + string(rune('0'+g.r.IntN(10))) // maybe a wrong check
			}
		}
		out[i] = v
	}
	return out
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			r += 0xFEE0
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (g *gen) province() string {
	for {
		p := region.Provinces[g.r.IntN(len(region.Provinces))].Code[:2]
		if p != "10" {
			return p
		}
	}
}

func mod112(body string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i, c := range body {
		s += int(c-'0') * w[i]
	}
	return string("10X98765432"[s%11])
}

func (g *gen) birthDate() time.Time {
	if g.r.Float64() < 0.05 { // minors
		return now.AddDate(-g.r.IntN(14), 0, -g.r.IntN(300))
	}
	return time.Date(1930+g.r.IntN(80), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
}

func (g *gen) idCard() string {
	code := g.province() + fmt.Sprintf("%02d%02d", 1+g.r.IntN(20), 1+g.r.IntN(30))
	if g.r.Float64() < 0.01 {
		code = []string{"810000", "820000", "830000"}[g.r.IntN(3)]
	}
	b := g.birthDate()
	body := code + b.Format("20060102") + fmt.Sprintf("%03d", g.r.IntN(1000))
	id := body + mod112(body)
	if g.r.Float64() < 0.03 && b.Year() < 2000 { // a pre-1999 15-digit number
		return code + b.Format("060102") + body[14:17]
	}
	if strings.HasSuffix(id, "X") && g.r.Float64() < 0.3 {
		id = id[:17] + "x"
	}
	return id
}

func (g *gen) badID() string {
	id := g.idCard()
	if len(id) != 18 {
		return g.badID()
	}
	last := id[17]
	for {
		c := "0123456789X"[g.r.IntN(11)]
		if c != last && c != last-32 {
			return id[:17] + string(c)
		}
	}
}

const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func (g *gen) uscc() string {
	kinds := []string{"91", "92", "93", "11", "12", "13", "51", "52", "53", "31"}
	var org []byte
	for range 8 {
		org = append(org, "0123456789ABCDEFGHJKLMNPQRTUWXY"[g.r.IntN(31)])
	}
	w := []int{3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i, c := range org {
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		s += v * w[i]
	}
	c := 11 - s%11
	check := byte('0' + c)
	if c == 10 {
		check = 'X'
	} else if c == 11 {
		check = '0'
	}
	body := kinds[g.r.IntN(len(kinds))] + g.province() + fmt.Sprintf("%04d", g.r.IntN(10000)) + string(org) + string(check)
	w31 := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	s = 0
	for i := range 17 {
		s += strings.IndexByte(usccCharset, body[i]) * w31[i]
	}
	k := 31 - s%31
	if k == 31 {
		k = 0
	}
	return body + string(usccCharset[k])
}

func luhnDigit(body string) string {
	s := 0
	for i := range len(body) {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		s += d
	}
	return string(rune('0' + (10-s%10)%10))
}

func (g *gen) card() string {
	bins := []string{"622848", "621700", "622588", "625807", "622202", "436742", "522153", "620522"}
	n := []int{16, 19}[g.r.IntN(2)]
	body := bins[g.r.IntN(len(bins))]
	for len(body) < n-1 {
		body += string(rune('0' + g.r.IntN(10)))
	}
	return body + luhnDigit(body)
}

func (g *gen) mobile() string {
	prefixes := []string{"134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187", "188", "195", "198",
		"130", "131", "132", "155", "156", "166", "175", "176", "185", "186", "196", "133", "153", "173", "177", "180", "181", "189", "191", "199", "192"}
	v := prefixes[g.r.IntN(len(prefixes))] + fmt.Sprintf("%08d", g.r.IntN(100000000))
	if g.r.Float64() < 0.05 {
		v = "+86 " + v[:3] + "-" + v[3:7] + "-" + v[7:]
	}
	return v
}

func (g *gen) plate() string {
	provinces := []rune("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
	letters := "ABCDEFGHJKLMNPQRSTUVWXYZ"
	p := string(provinces[g.r.IntN(len(provinces))]) + string(letters[g.r.IntN(len(letters))])
	if g.r.Float64() < 0.15 {
		return p + string("DF"[g.r.IntN(2)]) + string(letters[g.r.IntN(len(letters))]) + fmt.Sprintf("%04d", g.r.IntN(10000))
	}
	return p + fmt.Sprintf("%05d", g.r.IntN(100000))
}

func (g *gen) vin() string {
	chars := "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
	vals := map[byte]int{'A': 1, 'B': 2, 'C': 3, 'D': 4, 'E': 5, 'F': 6, 'G': 7, 'H': 8, 'J': 1, 'K': 2, 'L': 3, 'M': 4, 'N': 5, 'P': 7, 'R': 9, 'S': 2, 'T': 3, 'U': 4, 'V': 5, 'W': 6, 'X': 7, 'Y': 8, 'Z': 9}
	b := []byte("L")
	for len(b) < 17 {
		b = append(b, chars[g.r.IntN(len(chars))])
	}
	w := []int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	s := 0
	for i, c := range b {
		v := int(c - '0')
		if c >= 'A' {
			v = vals[c]
		}
		s += v * w[i]
	}
	b[8] = byte('0' + s%11)
	if s%11 == 10 {
		b[8] = 'X'
	}
	return string(b)
}

func (g *gen) email() string {
	domains := []string{"example.com", "qq.com", "163.com", "example.org", "126.com"}
	return fmt.Sprintf("user%d.%s@%s", g.r.IntN(100000), []string{"zh", "li", "wang"}[g.r.IntN(3)], domains[g.r.IntN(len(domains))])
}

func (g *gen) gps() string {
	lng, lat := 100+g.r.Float64()*25, 22+g.r.Float64()*20
	if g.r.IntN(2) == 0 {
		return fmt.Sprintf("%.6f,%.6f", lng, lat)
	}
	return fmt.Sprintf("%.5f,%.5f", lat, lng)
}

func (g *gen) name() string {
	switch g.r.IntN(20) {
	case 0: // a minority name with the middle dot
		first := []string{"阿依古丽", "买买提", "热依拉", "艾尔肯", "扎西", "卓玛"}
		last := []string{"买买提", "吐尔逊", "阿不都", "次仁", "多吉"}
		return first[g.r.IntN(len(first))] + "·" + last[g.r.IntN(len(last))]
	case 1, 2: // a rare surname (outside the detector's list of common ones)
		rare := []string{"禚", "亓", "仉", "厍", "郗", "阚", "蒯", "逄", "笪", "谯", "琚", "綦"}
		given := []rune("子涵浩然雨桐一诺欣怡梓萱")
		return rare[g.r.IntN(len(rare))] + string(given[g.r.IntN(len(given))]) + string(given[g.r.IntN(len(given))])
	}
	sur := []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "欧阳", "司马"}
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文")
	s := sur[g.r.IntN(len(sur))]
	for range 1 + g.r.IntN(2) {
		s += string(given[g.r.IntN(len(given))])
	}
	return s
}

func (g *gen) address() string {
	cities := []string{"浙江省杭州市西湖区", "北京市海淀区", "广东省深圳市南山区", "上海市浦东新区", "四川省成都市武侯区"}
	roads := []string{"文三路", "中关村大街", "深南大道", "世纪大道", "人民南路"}
	return fmt.Sprintf("%s%s%d号%d单元%d室", cities[g.r.IntN(len(cities))], roads[g.r.IntN(len(roads))], 1+g.r.IntN(999), 1+g.r.IntN(6), 101+g.r.IntN(2000))
}

func (g *gen) birth() string {
	return g.birthDate().Format([]string{"2006-01-02", "2006/01/02", "20060102", "2006年1月2日"}[g.r.IntN(4)])
}

func (g *gen) orderNo() string {
	t := now.Add(-time.Duration(g.r.IntN(1e6)) * time.Second)
	return t.Format("20060102150405") + fmt.Sprintf("%04d", g.r.IntN(10000))
}

var flake int64 = 1_600_000_000_000_000_000

func (g *gen) snowflake() string {
	flake += int64(g.r.IntN(1 << 22))
	return fmt.Sprint(flake)
}

func (g *gen) timestamp() string {
	t := now.Add(-time.Duration(g.r.IntN(1e8)) * time.Second)
	if g.r.IntN(2) == 0 {
		return fmt.Sprint(t.Unix())
	}
	return fmt.Sprint(t.UnixMilli())
}

func (g *gen) version() string {
	return fmt.Sprintf("%d.%d.%d.%d", g.r.IntN(5), g.r.IntN(10), g.r.IntN(20), g.r.IntN(100))
}

func (g *gen) company() string {
	a := []string{"华为", "阿里", "腾讯", "京东", "美团", "网易", "百度", "小米"}
	b := []string{"科技", "网络", "信息", "数据", "智能"}
	c := []string{"公司", "集团", "有限公司"}
	return a[g.r.IntN(len(a))] + b[g.r.IntN(len(b))] + c[g.r.IntN(len(c))]
}

// note is a free-text remark; about one in five holds an identifier (an ID number, a
// mobile or an e-mail address) among plain remarks.
func (g *gen) note() string {
	switch g.r.IntN(10) {
	case 0:
		return "客户来电，身份证号" + g.idCard() + "，已核实"
	case 1:
		return "请回电 " + g.mobile() + "，" + g.name() + "先生"
	}
	return g.plainNote()
}

// plainNote is a remark with order numbers, amounts, dates and tracking numbers only.
func (g *gen) plainNote() string {
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("订单号%s 于 2025-%02d-%02d 发货，快递单号 %s", g.digits(18), 1+g.r.IntN(12), 1+g.r.IntN(28), g.digits(12))
	case 1:
		return fmt.Sprintf("第%d次回访，客户满意，金额%d.%02d元", 1+g.r.IntN(9), g.r.IntN(100000), g.r.IntN(100))
	}
	return fmt.Sprintf("工单 %s 已关闭，处理人 %s", g.orderNo(), g.name())
}
