package classify

import "fmt"

// Proposal is the grade dx proposes for a dataset, with its reasons; the provider or
// the operator confirms or overrides it.
type Proposal struct {
	Level              int      `json:"level"`               // 一般数据 1–4 (GB/T 43697-2024)
	Sensitive          bool     `json:"sensitive"`           // holds sensitive personal information
	Minors             bool     `json:"minors"`              // holds data of persons aged 14 or under
	ImportantCandidate bool     `json:"important_candidate"` // 重要数据 candidate: operator review before any egress
	Credentials        bool     `json:"credentials"`         // holds passwords, keys or tokens: dx refuses to list it
	Review             bool     `json:"review"`              // some column needs a person's look
	Reasons            []string `json:"reasons"`             // zh / en
	Columns            []Column `json:"columns"`
}

// LargePI and ImportantPI are the person counts that raise a dataset's level and make it
// an important-data candidate (digest §6.2, dx defaults). Persons are the distinct values
// of the best person identifier, or rows as an upper bound when there is none.
const (
	LargePI     = 100_000
	ImportantPI = 1_000_000
)

// Propose grades a dataset from its columns' decisions (就高从严: the highest column,
// then escalations) and its row count.
func Propose(cols []Column, persons int64) Proposal {
	p := Proposal{Level: 1, Columns: cols}
	pi := false
	for _, c := range cols {
		p.Review = p.Review || c.Review
		if c.Minors > 0 {
			p.Minors = true
		}
		for _, f := range c.Findings {
			if f.Grade > p.Level {
				p.Level = f.Grade
			}
			if f.Grade >= 2 {
				pi = true
			}
			p.Sensitive = p.Sensitive || f.Sensitive
			if f.Type == CredentialTyp {
				p.Credentials = true
			}
			p.Reasons = append(p.Reasons, fmt.Sprintf("列 %q：%s（%d级）/ column %q: %s (level %d) — %s", c.Name, f.Type, f.Grade, c.Name, f.Type, f.Grade, f.Reason))
		}
	}
	if p.Credentials {
		p.Level = 4
		p.Reasons = append(p.Reasons, "含身份鉴别信息（口令、密钥）：须删除该列后才能登记 / holds credentials: drop the column before listing")
	}
	if p.Minors {
		p.Level, p.Sensitive = 4, true
		p.Reasons = append(p.Reasons, "含不满十四周岁未成年人的个人信息：敏感个人信息，4级 / holds personal information of minors under 14: sensitive, level 4")
	}
	if pi && persons >= LargePI && p.Level < 4 {
		p.Level++
		p.Reasons = append(p.Reasons, fmt.Sprintf("个人信息规模约 %d 人 ≥ %d：升一级 / personal information of about %d persons ≥ %d: one level up", persons, LargePI, persons, LargePI))
	}
	if pi && persons >= ImportantPI {
		p.ImportantCandidate, p.Review = true, true
		p.Reasons = append(p.Reasons, fmt.Sprintf("个人信息约 %d 人 ≥ %d：重要数据候选，需运营方审核 / personal information of about %d persons ≥ %d: important-data candidate, operator review", persons, ImportantPI, persons, ImportantPI))
	}
	if !pi && !p.Credentials {
		p.Reasons = append(p.Reasons, "未发现个人信息 / no personal information found")
	}
	return p
}

// personKeys are the types that identify one person, best first: a delivery's persons
// are counted by distinct values of the first such column.
var personKeys = []Type{IDCardType, PassportType, PermitType, HKIDType, TWIDType, MobileType, EmailType, BankCardType}

// PersonKey returns the column that best identifies persons in a proposal, or "" if
// none does (then every row counts as a person).
func (p *Proposal) PersonKey() string {
	for _, t := range personKeys {
		for _, c := range p.Columns {
			for _, f := range c.Findings {
				if f.Type == t {
					return c.Name
				}
			}
		}
	}
	return ""
}
