package asset

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/region"
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
	if !region.Valid(m.Region) {
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
