package policy

import (
	"regexp"
	"strings"
)

// Namespaces. NS is the dx profile namespace; it is still the placeholder of the DSP
// digest and must become an IRI the project controls before dx talks to other
// connectors (one constant to change).
const (
	ODRL    = "http://www.w3.org/ns/odrl/2/"
	NS      = "https://dx.example/ns/v1/"
	Profile = NS + "profile"
)

// Left operands dx evaluates or carries, in canonical (compact) spelling.
const (
	Purpose         = "odrl:purpose"
	DateTime        = "odrl:dateTime"
	ElapsedTime     = "odrl:elapsedTime"
	Count           = "odrl:count"
	Spatial         = "odrl:spatial"
	Recipient       = "odrl:recipient"
	Industry        = "odrl:industry"
	DeliveryChannel = "odrl:deliveryChannel"
	PayAmount       = "odrl:payAmount"
	UnitOfCount     = "odrl:unitOfCount"
	TimeInterval    = "odrl:timeInterval"
	Membership      = NS + "membership"
	Currency        = NS + "currency"
	AttributionText = NS + "attributionText"
	// Privacy budget limits of the compute channel (differentially private queries): per
	// query and in total over the agreement. The compute ledger enforces them; a policy
	// decision treats them as satisfied.
	DPEpsilon      = NS + "dpEpsilon"
	DPEpsilonTotal = NS + "dpEpsilonTotal"
	DPDelta        = NS + "dpDelta"
	DPDeltaTotal   = NS + "dpDeltaTotal"
	DPRho          = NS + "dpRho"
	DPRhoTotal     = NS + "dpRhoTotal"
)

// DPOperands are the privacy budget operands.
var DPOperands = []string{DPEpsilon, DPEpsilonTotal, DPDelta, DPDeltaTotal, DPRho, DPRhoTotal}

// kind is the type of a left operand's values.
type kind int

const (
	kPurpose kind = iota
	kDateTime
	kDuration
	kInteger
	kRegion
	kParticipant
	kIndustry
	kMembership
	kChannel
	kDecimal
	kCurrency
	kUnit
	kText
)

// operand describes a left operand: its value kind and the operators it takes.
type operand struct {
	kind kind
	ops  []string
	// duty operands only describe a duty (a price, a schedule); a permission or
	// prohibition may not use them.
	duty bool
}

var operands = map[string]operand{
	Purpose:         {kPurpose, []string{"eq", "isA", "isAnyOf", "isNoneOf"}, false},
	DateTime:        {kDateTime, []string{"lt", "lteq", "gt", "gteq"}, false},
	ElapsedTime:     {kDuration, []string{"lt", "lteq", "eq"}, false},
	Count:           {kInteger, []string{"lt", "lteq"}, false},
	Spatial:         {kRegion, []string{"isPartOf", "isAnyOf", "isNoneOf", "eq"}, false},
	Recipient:       {kParticipant, []string{"eq", "isAnyOf", "isNoneOf"}, false},
	Industry:        {kIndustry, []string{"isPartOf", "isAnyOf", "isNoneOf"}, false},
	Membership:      {kMembership, []string{"eq", "isAnyOf", "isAllOf"}, false},
	DeliveryChannel: {kChannel, []string{"eq", "isAnyOf", "isNoneOf"}, false},
	PayAmount:       {kDecimal, []string{"eq"}, true},
	Currency:        {kCurrency, []string{"eq"}, true},
	UnitOfCount:     {kUnit, []string{"eq"}, true},
	TimeInterval:    {kDuration, []string{"eq"}, true},
	AttributionText: {kText, []string{"eq"}, true},
	DPEpsilon:       {kDecimal, []string{"lteq"}, false},
	DPEpsilonTotal:  {kDecimal, []string{"lteq"}, false},
	DPDelta:         {kDecimal, []string{"lteq"}, false},
	DPDeltaTotal:    {kDecimal, []string{"lteq"}, false},
	DPRho:           {kDecimal, []string{"lteq"}, false},
	DPRhoTotal:      {kDecimal, []string{"lteq"}, false},
}

// operators lists the DSP/ODRL operators; set operators take a set of values.
var operators = map[string]bool{"eq": false, "neq": false, "gt": false, "gteq": false, "lt": false, "lteq": false,
	"isA": false, "hasPart": false, "isPartOf": false, "isAllOf": true, "isAnyOf": true, "isNoneOf": true, "term-lteq": false}

// actions dx knows. "use" is the DSP context's term; the rest are ODRL actions.
var actions = map[string]bool{"use": true, "odrl:delete": true, "odrl:attribute": true, "odrl:inform": true,
	"odrl:compensate": true, "odrl:anonymize": true, "odrl:distribute": true, "odrl:read": true, "odrl:transfer": true}

// PurposeInfo is one entry of the purpose taxonomy.
type PurposeInfo struct {
	Code string `json:"code"`
	Zh   string `json:"zh"`
	En   string `json:"en"`
}

// Purposes is the purpose taxonomy v1; a child (a.b) is a kind of its parent (a).
var Purposes = []PurposeInfo{
	{"research", "科学研究", "research"}, {"research.academic", "学术研究", "academic research"}, {"research.commercial", "商业研究", "commercial research"},
	{"model-training", "模型训练", "model training"}, {"model-training.generative", "生成式模型", "generative models"}, {"model-training.predictive", "预测与分析模型", "predictive and analytic models"},
	{"product-development", "产品研发", "product development"}, {"product-development.analytics", "分析与报表", "analytics and reporting"}, {"product-development.testing", "测试验证", "testing"},
	{"risk-control", "风险控制", "risk control"}, {"risk-control.credit", "信贷风控", "credit risk"}, {"risk-control.anti-fraud", "反欺诈", "anti-fraud"}, {"risk-control.insurance", "保险核保理赔", "insurance underwriting and claims"},
	{"marketing", "营销", "marketing"}, {"marketing.analysis", "市场分析", "market analysis"}, {"marketing.targeted", "精准营销", "targeted marketing"},
	{"public-service", "公共服务与治理", "public service"}, {"public-service.urban", "城市治理", "urban governance"}, {"public-service.emergency", "应急管理", "emergency management"}, {"public-service.statistics", "统计分析", "statistics"},
	{"compliance", "合规与监管", "compliance"}, {"compliance.regulatory-reporting", "监管报送", "regulatory reporting"}, {"compliance.audit", "审计", "audit"},
}

var purposeCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range Purposes {
		m[p.Code] = true
	}
	return m
}()

// Channels are the delivery channels.
var Channels = []string{"download", "share", "compute", "api"}

var (
	industryRE   = regexp.MustCompile(`^[A-T][0-9]{0,4}$`)
	cnRegionRE   = regexp.MustCompile(`^[1-8][0-9]{5}$`)
	isoRegionRE  = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	currencyRE   = regexp.MustCompile(`^[A-Z]{3}$`)
	decimalRE    = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	membershipRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
)

// PurposeIRI, RegionIRI, … build the dx vocabulary's IRIs.
func PurposeIRI(code string) string  { return NS + "purpose/" + code }
func ChannelIRI(ch string) string    { return NS + "channel/" + ch }
func IndustryIRI(code string) string { return NS + "industry/" + code }
func CNRegionIRI(code string) string { return NS + "region/cn/" + code }
func ISORegionIRI(c string) string   { return NS + "region/iso3166/" + c }

// leftOperand returns the canonical spelling of a left operand: "purpose", "odrl:purpose"
// and the full ODRL IRI are the same operand.
func leftOperand(s string) string {
	if rest, ok := strings.CutPrefix(s, ODRL); ok {
		return "odrl:" + rest
	}
	if !strings.Contains(s, ":") {
		return "odrl:" + s
	}
	return s
}

// operator returns the canonical spelling of an operator ("odrl:eq", the IRI → "eq").
func operator(s string) string {
	s = strings.TrimPrefix(s, ODRL)
	return strings.TrimPrefix(s, "odrl:")
}

// action returns the canonical spelling of an action.
func action(s string) string {
	switch s {
	case "use", "odrl:use", ODRL + "use":
		return "use"
	}
	if rest, ok := strings.CutPrefix(s, ODRL); ok {
		return "odrl:" + rest
	}
	if !strings.Contains(s, ":") {
		return "odrl:" + s
	}
	return s
}
