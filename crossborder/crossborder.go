// Package crossborder decides whether personal or important data may be delivered
// abroad under 《促进和规范数据跨境流动规定》 (CAC, 2024-03-22): by the data's kind and the
// provider's year-to-date count of persons whose personal information it delivered
// abroad, a delivery is exempt, needs a filed standard contract or a certification, or
// needs a security assessment — and is refused with the rule named until the provider
// has recorded the filing. HK, Macao and Taiwan count as abroad.
package crossborder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dxexchange/dx"
)

// The kinds of filing a provider records.
const (
	SecurityAssessment = "security-assessment" // 数据出境安全评估
	StandardContract   = "standard-contract"   // 个人信息出境标准合同（备案）
	Certification      = "certification"       // 个人信息保护认证
)

// Filing is a provider's recorded basis for cross-border delivery.
type Filing struct {
	ID         string    `json:"id"`
	ProviderID string    `json:"provider_id"`
	Kind       string    `json:"kind"`
	Reference  string    `json:"reference"` // filing or approval number
	ValidUntil time.Time `json:"valid_until"`
	CreatedAt  time.Time `json:"created_at"`
}

// Store is the persistence port of this package.
type Store interface {
	Filings(ctx context.Context, providerID string) ([]Filing, error)
	AddFiling(ctx context.Context, f Filing, events []dx.Event) error
	// UpdateLedger calls fn with the provider's sketches of the year's persons (general
	// and sensitive; empty if none yet) under a lock, and stores them as fn left them with
	// the events it returns — or nothing, if fn fails.
	UpdateLedger(ctx context.Context, providerID string, year int, fn func(general, sensitive *Sketch) ([]dx.Event, error)) error
}

// Abroad reports whether an organisation of this country receives data abroad.
func Abroad(country string) bool { return country != "" && country != "CN" }

// Delivery is one cross-border delivery to decide.
type Delivery struct {
	Core, Important          bool  // the data's grade
	General, Sensitive       bool  // it holds non-sensitive / sensitive personal information
	Persons                  int64 // persons it adds to the year's general count (new distinct persons)
	SensitivePersons         int64 // persons it adds to the year's sensitive count
	YTDGeneral, YTDSensitive int64 // the provider's counts before this delivery
	Filings                  []Filing
	Now                      time.Time
}

// Decision is the gate's answer.
type Decision struct {
	Allow     bool
	Mechanism string // "exempt", StandardContract+"|"+Certification, or SecurityAssessment
	Rule      string // zh / en, naming the threshold
	General   int64  // what the delivery adds to the ledger
	Sensitive int64
}

// Decide applies the decision table (digest §3.1, §3.4), first match wins.
func Decide(d Delivery) Decision {
	var dec Decision
	if d.General {
		dec.General = d.Persons
	}
	if d.Sensitive {
		dec.Sensitive = d.SensitivePersons
	}
	g, s := d.YTDGeneral+dec.General, d.YTDSensitive+dec.Sensitive
	has := func(kinds ...string) bool {
		return slices.ContainsFunc(d.Filings, func(f Filing) bool { return slices.Contains(kinds, f.Kind) && f.ValidUntil.After(d.Now) })
	}
	switch {
	case d.Core:
		dec.Rule = "核心数据不得出境 / core data never leaves the country"
		return dec
	case d.Important:
		dec.Mechanism, dec.Rule = SecurityAssessment, "重要数据出境须通过数据出境安全评估 / important data goes abroad only after a CAC security assessment"
	case g >= 1_000_000 || s >= 10_000:
		dec.Mechanism = SecurityAssessment
		dec.Rule = fmt.Sprintf("本年累计向境外提供 %d 人个人信息、%d 人敏感个人信息（≥100万或≥1万）须安全评估 / this year's total of %d persons' personal information and %d persons' sensitive personal information (≥ 1,000,000 or ≥ 10,000) needs a CAC security assessment", g, s, g, s)
	case g >= 100_000 || s > 0:
		dec.Mechanism = StandardContract + "|" + Certification
		dec.Rule = fmt.Sprintf("本年累计向境外提供 %d 人个人信息、%d 人敏感个人信息（≥10万或含敏感）须订立标准合同并备案或通过认证 / this year's total of %d persons' personal information and %d persons' sensitive personal information (≥ 100,000, or any sensitive) needs a filed standard contract or a certification", g, s, g, s)
	default:
		dec.Allow, dec.Mechanism = true, "exempt"
		dec.Rule = fmt.Sprintf("本年累计 %d 人（<10万，无敏感个人信息、无重要数据）：免予申报 / this year's total of %d persons (< 100,000, no sensitive personal information, no important data): exempt", g, g)
		return dec
	}
	switch dec.Mechanism {
	case SecurityAssessment:
		dec.Allow = has(SecurityAssessment)
	default:
		dec.Allow = has(StandardContract, Certification, SecurityAssessment)
	}
	return dec
}

// Service records filings.
type Service struct {
	Store Store
	Clock dx.Clock
}

// AddFiling records a provider's filing: the operator, or the provider itself.
func (s *Service) AddFiling(ctx context.Context, providerID, kind, reference string, validUntil time.Time) (f Filing, err error) {
	defer dx.WrapOp(&err, "crossborder.AddFiling")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return f, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return f, err
	}
	if p.OrgID != providerID && !p.HasRole(dx.RoleOperator) {
		return f, dx.Errorf(dx.EForbidden, "只有提供方本身或运营方可以登记出境备案 / only the provider itself or the operator records its filings")
	}
	now := s.Clock.Now().UTC()
	reference = strings.TrimSpace(reference)
	if !slices.Contains([]string{SecurityAssessment, StandardContract, Certification}, kind) || reference == "" || !validUntil.After(now) {
		return f, dx.Errorf(dx.EInvalid, "需要类型（security-assessment, standard-contract, certification）、编号和未来的有效期 / kind, reference and a future valid_until are required")
	}
	f = Filing{ID: dx.NewID("cbf", now), ProviderID: providerID, Kind: kind, Reference: reference, ValidUntil: validUntil.UTC(), CreatedAt: now}
	ev := dx.NewEvent(now, p, "crossborder.filing", providerID, map[string]any{"filing": f.ID, "kind": kind, "valid_until": f.ValidUntil})
	return f, s.Store.AddFiling(ctx, f, []dx.Event{ev})
}
