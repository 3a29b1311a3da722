package asset

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dxexchange/dx"
)

// Text is a bilingual text: Chinese, English, or both.
type Text struct {
	Zh string `json:"zh,omitempty"`
	En string `json:"en,omitempty"`
}

// String returns the Chinese text if there is one, else the English.
func (t Text) String() string {
	if t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// Industry is a section of GB/T 4754-2017 (国民经济行业分类).
type Industry struct {
	Code string `json:"code"`
	Name Text   `json:"name"`
}

// Industries lists the twenty sections of GB/T 4754-2017.
var Industries = []Industry{
	{"A", Text{"农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"}},
	{"B", Text{"采矿业", "Mining"}},
	{"C", Text{"制造业", "Manufacturing"}},
	{"D", Text{"电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water supply"}},
	{"E", Text{"建筑业", "Construction"}},
	{"F", Text{"批发和零售业", "Wholesale and retail trade"}},
	{"G", Text{"交通运输、仓储和邮政业", "Transport, storage and postal services"}},
	{"H", Text{"住宿和餐饮业", "Accommodation and catering"}},
	{"I", Text{"信息传输、软件和信息技术服务业", "Information transmission, software and IT services"}},
	{"J", Text{"金融业", "Finance"}},
	{"K", Text{"房地产业", "Real estate"}},
	{"L", Text{"租赁和商务服务业", "Leasing and business services"}},
	{"M", Text{"科学研究和技术服务业", "Scientific research and technical services"}},
	{"N", Text{"水利、环境和公共设施管理业", "Water, environment and public facilities management"}},
	{"O", Text{"居民服务、修理和其他服务业", "Resident services, repair and other services"}},
	{"P", Text{"教育", "Education"}},
	{"Q", Text{"卫生和社会工作", "Health and social work"}},
	{"R", Text{"文化、体育和娱乐业", "Culture, sports and entertainment"}},
	{"S", Text{"公共管理、社会保障和社会组织", "Public administration, social security and social organisations"}},
	{"T", Text{"国际组织", "International organisations"}},
}

// Province is a province-level division of GB/T 2260.
type Province struct {
	Code string `json:"code"` // six digits, ending 0000
	Name Text   `json:"name"`
}

// Provinces lists the province-level divisions of GB/T 2260, plus 100000 for the whole
// country.
var Provinces = []Province{
	{"100000", Text{"全国", "China (nationwide)"}},
	{"110000", Text{"北京市", "Beijing"}}, {"120000", Text{"天津市", "Tianjin"}}, {"130000", Text{"河北省", "Hebei"}},
	{"140000", Text{"山西省", "Shanxi"}}, {"150000", Text{"内蒙古自治区", "Inner Mongolia"}}, {"210000", Text{"辽宁省", "Liaoning"}},
	{"220000", Text{"吉林省", "Jilin"}}, {"230000", Text{"黑龙江省", "Heilongjiang"}}, {"310000", Text{"上海市", "Shanghai"}},
	{"320000", Text{"江苏省", "Jiangsu"}}, {"330000", Text{"浙江省", "Zhejiang"}}, {"340000", Text{"安徽省", "Anhui"}},
	{"350000", Text{"福建省", "Fujian"}}, {"360000", Text{"江西省", "Jiangxi"}}, {"370000", Text{"山东省", "Shandong"}},
	{"410000", Text{"河南省", "Henan"}}, {"420000", Text{"湖北省", "Hubei"}}, {"430000", Text{"湖南省", "Hunan"}},
	{"440000", Text{"广东省", "Guangdong"}}, {"450000", Text{"广西壮族自治区", "Guangxi"}}, {"460000", Text{"海南省", "Hainan"}},
	{"500000", Text{"重庆市", "Chongqing"}}, {"510000", Text{"四川省", "Sichuan"}}, {"520000", Text{"贵州省", "Guizhou"}},
	{"530000", Text{"云南省", "Yunnan"}}, {"540000", Text{"西藏自治区", "Tibet"}}, {"610000", Text{"陕西省", "Shaanxi"}},
	{"620000", Text{"甘肃省", "Gansu"}}, {"630000", Text{"青海省", "Qinghai"}}, {"640000", Text{"宁夏回族自治区", "Ningxia"}},
	{"650000", Text{"新疆维吾尔自治区", "Xinjiang"}}, {"710000", Text{"台湾省", "Taiwan"}},
	{"810000", Text{"香港特别行政区", "Hong Kong"}}, {"820000", Text{"澳门特别行政区", "Macao"}},
}

var regionRE = regexp.MustCompile(`^[1-8][0-9]{5}$`)

// ValidRegion reports whether code is a six-digit GB/T 2260 code under a known province.
func ValidRegion(code string) bool {
	if !regionRE.MatchString(code) {
		return false
	}
	return slices.ContainsFunc(Provinces, func(p Province) bool { return p.Code[:2] == code[:2] })
}

// RegionPrefix returns the prefix that every code inside region shares: "33" for the
// province 330000, "3301" for the city 330100, the whole code for a county. The
// nationwide code 100000 has the empty prefix.
func RegionPrefix(code string) string {
	if code == "100000" {
		return ""
	}
	switch {
	case strings.HasSuffix(code, "0000"):
		return code[:2]
	case strings.HasSuffix(code, "00"):
		return code[:4]
	}
	return code
}

// Update frequencies.
var Frequencies = []string{"once", "realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"}

// Visibility of an asset.
const (
	Private = "private" // only its owner (and operators, regulators) see it
	Listed  = "listed"  // everyone sees it in the catalog; data needs an approved grant
	Open    = "open"    // open data: every authenticated organisation may fetch it
)

// Meta is an asset's descriptive metadata.
type Meta struct {
	Title       Text     `json:"title"`
	Description Text     `json:"description"`
	Keywords    []string `json:"keywords,omitempty"`
	Industry    string   `json:"industry"`  // GB/T 4754 section letter
	Region      string   `json:"region"`    // GB/T 2260 code
	Frequency   string   `json:"frequency"` // one of Frequencies
	Source      string   `json:"source,omitempty"`
	Licence     string   `json:"licence,omitempty"`
	Visibility  string   `json:"visibility"`
}

func textLen(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return dx.Errorf(dx.EInvalid, "%s 不是有效的 UTF-8 / %s is not valid UTF-8", field, field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return dx.Errorf(dx.EInvalid, "%s 过长（%d 字符，最多 %d）/ %s is too long (%d characters, at most %d)", field, n, max, field, n, max)
	}
	return nil
}

// normalize fills defaults and validates m.
func (m *Meta) normalize() error {
	m.Title.Zh, m.Title.En = strings.TrimSpace(m.Title.Zh), strings.TrimSpace(m.Title.En)
	if m.Title.Zh == "" && m.Title.En == "" {
		return dx.Errorf(dx.EInvalid, "需要中文或英文标题 / a Chinese or English title is required")
	}
	for field, v := range map[string]string{"title.zh": m.Title.Zh, "title.en": m.Title.En, "source": m.Source, "licence": m.Licence} {
		if err := textLen(field, v, 200); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{"description.zh": m.Description.Zh, "description.en": m.Description.En} {
		if err := textLen(field, v, 10000); err != nil {
			return err
		}
	}
	if len(m.Keywords) > 50 {
		return dx.Errorf(dx.EInvalid, "关键词最多 50 个 / at most 50 keywords")
	}
	kw := m.Keywords[:0]
	for _, k := range m.Keywords {
		k = strings.TrimSpace(k)
		if err := textLen("keyword", k, 50); err != nil {
			return err
		}
		if k != "" && !slices.Contains(kw, k) {
			kw = append(kw, k)
		}
	}
	m.Keywords = kw
	m.Industry = strings.ToUpper(strings.TrimSpace(m.Industry))
	if !slices.ContainsFunc(Industries, func(i Industry) bool { return i.Code == m.Industry }) {
		return dx.Errorf(dx.EInvalid, "行业 %q 不是 GB/T 4754 门类代码（A–T）/ industry %q is not a GB/T 4754 section letter (A–T)", m.Industry, m.Industry)
	}
	if m.Region == "" {
		m.Region = "100000"
	}
	if !ValidRegion(m.Region) {
		return dx.Errorf(dx.EInvalid, "地区 %q 不是有效的 GB/T 2260 六位代码 / region %q is not a six-digit GB/T 2260 code", m.Region, m.Region)
	}
	if m.Frequency == "" {
		m.Frequency = "irregular"
	}
	if !slices.Contains(Frequencies, m.Frequency) {
		return dx.Errorf(dx.EInvalid, "更新频率 %q 无效 / frequency %q is not one of %v", m.Frequency, m.Frequency, Frequencies)
	}
	if m.Visibility == "" {
		m.Visibility = Listed
	}
	if m.Visibility != Private && m.Visibility != Listed && m.Visibility != Open {
		return dx.Errorf(dx.EInvalid, "可见性 %q 无效 / visibility %q is not private, listed or open", m.Visibility, m.Visibility)
	}
	return nil
}
