package classify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func types(c Column) []Type {
	var out []Type
	for _, f := range c.Findings {
		out = append(out, f.Type)
	}
	return out
}

// repeat makes a column of n values cycling through vs.
func repeat(n int, vs ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = vs[i%len(vs)]
	}
	return out
}

func TestColumns(t *testing.T) {
	ids := []string{"11010519491231002X", "440524188001010014", "310104198504121237", "510107197706010019", "650102199909098880", "810000199506120045"}
	r := rand.New(rand.NewPCG(1, 2))
	randomDigits := func(n, length int) []string {
		out := make([]string, n)
		for i := range out {
			b := []byte{byte('1' + r.IntN(9))}
			for len(b) < length {
				b = append(b, byte('0'+r.IntN(10)))
			}
			out[i] = string(b)
		}
		return out
	}
	cases := []struct {
		header string
		values []string
		want   []Type
	}{
		{"身份证号", repeat(200, ids...), []Type{IDCardType}},
		{"col_07", repeat(200, ids...), []Type{IDCardType}},                                      // no header needed
		{"col_07", repeat(200, "１１０１０５１９４９１２３１００２ｘ", "'310104198504121237"), []Type{IDCardType}}, // full-width, Excel quote
		{"备注", randomDigits(200, 18), nil},                                                       // random 18 digits: 1 in 11 pass MOD 11-2
		{"order_no", randomDigits(200, 19), nil},
		{"sjh", repeat(200, "13912345678", "19912345678", "+86 139-1234-5678", "18612345678", "15012345678"), []Type{MobileType}},
		{"银行卡号", repeat(200, "6228484848240124626", "6217001470331026490", "6225882687914348", "6222021234567894"), []Type{BankCardType}},
		{"tyshxydm", repeat(200, "91110108MA01ABCD5T", "121000004000005952", "52440300MJL123454Y"), []Type{USCCType}},
		{"车牌", repeat(200, "京A12345", "粤B·D12345", "沪AF12345", "苏E1234学"), []Type{PlateType}},
		{"email", repeat(200, "zhang.san@example.com", "12345678@qq.com", "li@example.org"), []Type{EmailType}},
		{"version", repeat(200, "1.2.3.4", "1.0.0.1", "2.1.0.3"), nil},
		{"client_ip", repeat(200, "192.0.2.10", "198.51.100.7", "2001:db8::1"), []Type{IPType}},
		{"位置", repeat(200, "116.397128,39.916527", "121.473701,31.230416"), []Type{GPSType}},
		{"姓名", repeat(200, "张三", "李小明", "欧阳娜娜", "王芳", "陈建国"), []Type{NameType}},
		{"公司", repeat(200, "阿里巴巴公司", "腾讯集团", "杭州银行"), nil},
		{"住址", repeat(200, "浙江省杭州市西湖区文三路100号", "北京市海淀区中关村大街1号3单元201室"), []Type{AddressType}},
		{"csrq", repeat(200, "1985-04-12", "1990/01/01", "2001年2月3日"), []Type{BirthType}},
		{"created_at", repeat(200, "2024-04-12", "2024-01-01"), nil},
		{"password", repeat(200, "hunter2!", "s3cr3t-pass"), []Type{CredentialTyp}},
		{"身份证号", repeat(200, "110***********1234", "310***********1237"), []Type{MaskedType}},
		{"sfzh", repeat(200, "4.40524E+17", "1.10105E+17"), []Type{DamagedType}},
		{"金额", repeat(200, "12.50", "3.00", "100"), nil},
		{"空列", repeat(200, "", "NULL", "-"), nil},
	}
	for _, c := range cases {
		got := Classify(c.header, c.values, now)
		if !slices.Equal(types(got), c.want) {
			t.Errorf("%s %q…: found %v, want %v (%+v)", c.header, c.values[0], types(got), c.want, got.Findings)
		}
	}
}

func TestMinorsAndProposal(t *testing.T) {
	ids := Classify("身份证号", repeat(100, "110105201512313603", "310104198504121237"), now)
	if ids.Minors == 0 {
		t.Fatal("minors not found")
	}
	phones := Classify("手机号", repeat(100, "13912345678", "19912345678", "18612345678"), now)
	p := Propose([]Column{ids, phones}, 1000)
	if p.Level != 4 || !p.Minors || !p.Sensitive || !strings.Contains(strings.Join(p.Reasons, " "), "minors") {
		t.Fatalf("proposal: %+v", p)
	}
	adults := Classify("身份证号", repeat(100, "310104198504121237", "510107197706010019"), now)
	if p := Propose([]Column{adults, phones}, 1000); p.Level != 3 || p.Sensitive || p.ImportantCandidate {
		t.Fatalf("adults: %+v", p)
	}
	if p := Propose([]Column{adults}, 150_000); p.Level != 4 {
		t.Fatalf("large: %+v", p)
	}
	if p := Propose([]Column{phones}, 2_000_000); !p.ImportantCandidate || !p.Review {
		t.Fatalf("important candidate: %+v", p)
	}
	orgs := Classify("统一社会信用代码", repeat(100, "91110108MA01ABCD5T", "121000004000005952"), now)
	if p := Propose([]Column{orgs}, 5_000_000); p.Level != 1 || p.ImportantCandidate {
		t.Fatalf("organisations only: %+v", p)
	}
}

func TestHeaderPrior(t *testing.T) {
	for _, c := range []struct {
		h    string
		t    Type
		want float64
	}{
		{"身份证号", IDCardType, 0.9}, {"客户身份证号码", IDCardType, 0.7}, {"idCard", IDCardType, 0.9}, {"id_card", IDCardType, 0.9},
		{"sfzh", IDCardType, 0.5}, {"xm", NameType, 0.4}, {"shouji", MobileType, 0.8}, {"订单号", MobileType, 0}, {"order_id", BankCardType, 0},
		{"col_07", IDCardType, 0},
	} {
		if got := HeaderPrior(c.h, c.t); got != c.want {
			t.Errorf("HeaderPrior(%q, %s) = %.1f, want %.1f", c.h, c.t, got, c.want)
		}
	}
	if w := Wilson(190, 200); w < 0.90 || w > 0.92 {
		t.Errorf("Wilson(190/200) = %.3f", w)
	}
	_ = fmt.Sprint
}

// TestHostileCells: binary junk, huge cells, mixed scripts and thousands of columns are
// scanned without failing, in bounded time and memory.
func TestHostileCells(t *testing.T) {
	huge := strings.Repeat("张", 1_000_000)
	junk := string([]byte{0xff, 0xfe, 0x00, 0x01, 0x80})
	c := Classify("remark", repeat(100, huge, junk, "正常", "\x00\x00"), now)
	if len(c.Findings) != 0 {
		t.Fatalf("junk classified as %v", types(c))
	}
	for i := range 3000 {
		Classify(fmt.Sprintf("c%d", i), repeat(30, "x"), now)
	}
}

func TestMasks(t *testing.T) {
	for _, c := range []struct {
		t        Type
		in, want string
	}{
		{IDCardType, "110105194912311234", "110***********1234"}, {MobileType, "13812345678", "138****5678"},
		{BankCardType, "6222021234567894", "622202******7894"}, {NameType, "张三", "张*"}, {NameType, "欧阳娜娜", "欧阳**"},
		{AddressType, "北京市海淀区中关村大街1号", "北京市海淀区********"}, {EmailType, "zhang.san@example.com", "z***@example.com"},
		{PlateType, "苏D12340", "苏D****0"}, {IPType, "192.0.2.10", "192.0.2.*"}, {CredentialTyp, "hunter2", "******"},
	} {
		if got := Mask(c.t, c.in); got != c.want {
			t.Errorf("Mask(%s, %s) = %s, want %s", c.t, c.in, got, c.want)
		}
	}
	cols := []Column{Classify("姓名", repeat(40, "张三", "李四"), now), Classify("金额", repeat(40, "12.5"), now)}
	rows := MaskRows(cols, [][]string{{"张三", "12.5"}})
	if rows[0][0] != "张*" || rows[0][1] != "12.5" {
		t.Fatalf("MaskRows: %v", rows)
	}
}
