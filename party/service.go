package party

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dxexchange/dx"
)

// Service is the use-case layer of organisations and tokens.
type Service struct {
	Store Store
	Clock dx.Clock
	Log   *slog.Logger
}

// NewOrg is what an operator gives to create an organisation.
type NewOrg struct {
	Name  string   `json:"name"`
	USCC  string   `json:"uscc,omitempty"`
	Roles []string `json:"roles"`
	// Country is where the organisation is established (ISO 3166-1 alpha-2; "" or "CN"
	// for mainland China; HK, MO and TW are outside it for data export).
	Country string `json:"country,omitempty"`
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

var validRoles = []string{dx.RoleOperator, dx.RoleProvider, dx.RoleConsumer, dx.RoleRegulator}
var validScopes = []string{dx.ScopeRead, dx.ScopeWrite, dx.ScopeAdmin}

// usccPattern is the shape of a 统一社会信用代码: 18 characters of digits and the
// upper-case letters the standard uses (no I, O, S, V, Z). The check digit is verified
// by the classify package's detector, not here.
var usccPattern = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$`)

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func validName(field, name string, max int) error {
	if strings.TrimSpace(name) == "" {
		return dx.Errorf(dx.EInvalid, "%s 不能为空 / %s must not be empty", field, field)
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > max {
		return dx.Errorf(dx.EInvalid, "%s 必须是不超过 %d 个字符的 UTF-8 文本 / %s must be UTF-8 text of at most %d characters", field, max, field, max)
	}
	return nil
}

func (n NewOrg) validate() error {
	if err := validName("name", n.Name, 200); err != nil {
		return err
	}
	if n.Country != "" && !countryPattern.MatchString(n.Country) {
		return dx.Errorf(dx.EInvalid, "国家应为 ISO 3166-1 两位字母代码 / country must be an ISO 3166-1 alpha-2 code such as SG")
	}
	if n.USCC != "" && !usccPattern.MatchString(n.USCC) {
		return dx.Errorf(dx.EInvalid, "统一社会信用代码格式错误 / uscc is not an 18-character unified social credit code")
	}
	if len(n.Roles) == 0 {
		return dx.Errorf(dx.EInvalid, "至少需要一个角色 / at least one role is required")
	}
	for _, r := range n.Roles {
		if !slices.Contains(validRoles, r) {
			return dx.Errorf(dx.EInvalid, "未知角色 %q / unknown role %q (want one of %v)", r, r, validRoles)
		}
	}
	return nil
}

func (s *Service) newOrg(n NewOrg, now time.Time, actor dx.Principal) (Org, ed25519.PrivateKey, Token, string, []dx.Event) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	roles := slices.Clone(n.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	country := n.Country
	if country == "CN" {
		country = ""
	}
	org := Org{ID: dx.NewID(dx.PrefixOrg, now), Name: strings.TrimSpace(n.Name), USCC: n.USCC, Roles: roles, Country: country, PublicKey: pub, CreatedAt: now}
	scopes := []string{dx.ScopeRead, dx.ScopeWrite}
	if slices.Contains(roles, dx.RoleOperator) {
		scopes = append(scopes, dx.ScopeAdmin)
	}
	tok := Token{ID: dx.NewID(dx.PrefixToken, now), OrgID: org.ID, Name: "initial", Scopes: scopes, CreatedAt: now}
	secret, hash := newSecret(tok.ID)
	tok.Hash = hash
	events := []dx.Event{
		dx.NewEvent(now, actor, "org.create", org.ID, map[string]any{"name": org.Name, "roles": roles, "public_key": pub}),
		dx.NewEvent(now, actor, "token.create", tok.ID, map[string]any{"org": org.ID, "scopes": scopes}),
	}
	return org, key, tok, secret, events
}

// Bootstrap creates the operator organisation on the first start of an exchange and
// returns it with its token secret. If the exchange was bootstrapped before, it returns
// created=false and no secret: the secret was shown once, at the first start.
func (s *Service) Bootstrap(ctx context.Context, name string) (org Org, secret string, created bool, err error) {
	defer dx.WrapOp(&err, "party.Bootstrap")
	if id, err := s.Store.BootstrapOrg(ctx); err == nil {
		org, err := s.Store.Org(ctx, id)
		return org, "", false, err
	} else if dx.ErrorCode(err) != dx.ENotFound {
		return Org{}, "", false, err
	}
	n := NewOrg{Name: name, Roles: []string{dx.RoleOperator}}
	if err := n.validate(); err != nil {
		return Org{}, "", false, err
	}
	now := s.now()
	org, key, tok, secret, events := s.newOrg(n, now, dx.Principal{})
	if err := s.Store.Bootstrap(ctx, org, key, tok, events); err != nil {
		if dx.ErrorCode(err) == dx.EConflict { // another replica won the race
			id, err := s.Store.BootstrapOrg(ctx)
			if err != nil {
				return Org{}, "", false, err
			}
			org, err := s.Store.Org(ctx, id)
			return org, "", false, err
		}
		return Org{}, "", false, err
	}
	s.Log.Info("bootstrapped exchange", "org", org.ID)
	return org, secret, true, nil
}

// CreateOrg creates an organisation with a first token (scopes read and write, plus admin
// for an operator) and returns the token's secret, shown this once. Operators only.
func (s *Service) CreateOrg(ctx context.Context, n NewOrg) (org Org, secret string, err error) {
	defer dx.WrapOp(&err, "party.CreateOrg")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Org{}, "", err
	}
	if !p.HasRole(dx.RoleOperator) || !p.HasScope(dx.ScopeAdmin) {
		return Org{}, "", dx.Errorf(dx.EForbidden, "只有运营方管理员可以创建机构 / only an operator admin token can create organisations")
	}
	if err := n.validate(); err != nil {
		return Org{}, "", err
	}
	now := s.now()
	org, key, tok, secret, events := s.newOrg(n, now, p)
	if err := s.Store.CreateOrg(ctx, org, key, tok, events); err != nil {
		return Org{}, "", err
	}
	return org, secret, nil
}

// Authenticate turns a token secret into the principal it stands for. Unknown,
// malformed and revoked secrets give the same unauthorized error.
func (s *Service) Authenticate(ctx context.Context, secret string) (dx.Principal, error) {
	bad := dx.Errorf(dx.EUnauthorized, "令牌无效或已吊销 / invalid or revoked token")
	id, ok := parseSecret(secret)
	if !ok {
		return dx.Principal{}, bad
	}
	tok, err := s.Store.Token(ctx, id)
	if dx.ErrorCode(err) == dx.ENotFound {
		return dx.Principal{}, bad
	} else if err != nil {
		return dx.Principal{}, err
	}
	if !secretMatches(secret, tok.Hash) || tok.RevokedAt != nil {
		return dx.Principal{}, bad
	}
	org, err := s.Store.Org(ctx, tok.OrgID)
	if err != nil {
		return dx.Principal{}, err
	}
	return dx.Principal{OrgID: org.ID, TokenID: tok.ID, Roles: org.Roles, Scopes: tok.Scopes, Country: org.Country}, nil
}

// Org returns an organisation. Organisations are public on an exchange: anyone
// authenticated may read their names, roles and public keys.
func (s *Service) Org(ctx context.Context, id string) (Org, error) {
	if _, err := dx.PrincipalFrom(ctx); err != nil {
		return Org{}, err
	}
	if !dx.ValidID(dx.PrefixOrg, id) {
		return Org{}, dx.Errorf(dx.ENotFound, "机构不存在 / organisation %q not found", id)
	}
	return s.Store.Org(ctx, id)
}

// Orgs lists all organisations.
func (s *Service) Orgs(ctx context.Context) ([]Org, error) {
	if _, err := dx.PrincipalFrom(ctx); err != nil {
		return nil, err
	}
	return s.Store.Orgs(ctx)
}

// targetOrg resolves which organisation a token or member call acts on: the caller's own,
// or, for an operator admin, any named one.
func targetOrg(p dx.Principal, orgID string) (string, error) {
	if orgID == "" || orgID == p.OrgID {
		return p.OrgID, nil
	}
	if p.HasRole(dx.RoleOperator) && p.HasScope(dx.ScopeAdmin) {
		return orgID, nil
	}
	return "", dx.Errorf(dx.ENotFound, "机构不存在 / organisation %q not found", orgID)
}

// CreateToken makes a new token for the caller's organisation (or, for an operator admin,
// for orgID) with the given scopes, which may not exceed the caller's own.
func (s *Service) CreateToken(ctx context.Context, orgID, name string, scopes []string) (tok Token, secret string, err error) {
	defer dx.WrapOp(&err, "party.CreateToken")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Token{}, "", err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return Token{}, "", err
	}
	if orgID, err = targetOrg(p, orgID); err != nil {
		return Token{}, "", err
	}
	if err := validName("name", name, 100); err != nil {
		return Token{}, "", err
	}
	if len(scopes) == 0 {
		scopes = []string{dx.ScopeRead}
	}
	org, err := s.Store.Org(ctx, orgID)
	if err != nil {
		return Token{}, "", err
	}
	for _, sc := range scopes {
		if !slices.Contains(validScopes, sc) {
			return Token{}, "", dx.Errorf(dx.EInvalid, "未知权限范围 %q / unknown scope %q (want one of %v)", sc, sc, validScopes)
		}
		if !p.HasScope(sc) {
			return Token{}, "", dx.Errorf(dx.EForbidden, "不能授予自己没有的权限范围 %q / cannot grant scope %q the caller lacks", sc, sc)
		}
		if sc == dx.ScopeAdmin && !slices.Contains(org.Roles, dx.RoleOperator) {
			return Token{}, "", dx.Errorf(dx.EInvalid, "只有运营方的令牌可以有 admin 范围 / only operator tokens may have the admin scope")
		}
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	now := s.now()
	tok = Token{ID: dx.NewID(dx.PrefixToken, now), OrgID: orgID, Name: name, Scopes: scopes, CreatedAt: now}
	secret, tok.Hash = newSecret(tok.ID)
	ev := dx.NewEvent(now, p, "token.create", tok.ID, map[string]any{"org": orgID, "scopes": scopes})
	if err := s.Store.CreateToken(ctx, tok, []dx.Event{ev}); err != nil {
		return Token{}, "", err
	}
	return tok, secret, nil
}

// Tokens lists an organisation's tokens (never their secrets).
func (s *Service) Tokens(ctx context.Context, orgID string) ([]Token, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if orgID, err = targetOrg(p, orgID); err != nil {
		return nil, err
	}
	return s.Store.Tokens(ctx, orgID)
}

// RevokeToken revokes a token of the caller's organisation (an operator admin: of any).
// It takes effect at once: the next request with that token is refused.
func (s *Service) RevokeToken(ctx context.Context, id string) (err error) {
	defer dx.WrapOp(&err, "party.RevokeToken")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return err
	}
	notFound := dx.Errorf(dx.ENotFound, "令牌不存在 / token %q not found", id)
	if !dx.ValidID(dx.PrefixToken, id) {
		return notFound
	}
	tok, err := s.Store.Token(ctx, id)
	if err != nil {
		return err
	}
	if _, err := targetOrg(p, tok.OrgID); err != nil {
		return notFound
	}
	now := s.now()
	ev := dx.NewEvent(now, p, "token.revoke", id, map[string]any{"org": tok.OrgID})
	return s.Store.RevokeToken(ctx, tok.OrgID, id, now, []dx.Event{ev})
}

// AddMember adds a person to the caller's organisation (an operator admin: to any).
func (s *Service) AddMember(ctx context.Context, orgID, name, email string) (m Member, err error) {
	defer dx.WrapOp(&err, "party.AddMember")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Member{}, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return Member{}, err
	}
	if orgID, err = targetOrg(p, orgID); err != nil {
		return Member{}, err
	}
	if err := validName("name", name, 100); err != nil {
		return Member{}, err
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return Member{}, dx.Errorf(dx.EInvalid, "电子邮件地址无效 / invalid e-mail address %q", email)
	}
	now := s.now()
	m = Member{ID: dx.NewID(dx.PrefixMember, now), OrgID: orgID, Name: name, Email: strings.ToLower(email), CreatedAt: now}
	// The event names the member by ID only: names and e-mails are personal data.
	ev := dx.NewEvent(now, p, "member.add", m.ID, map[string]any{"org": orgID})
	if err := s.Store.AddMember(ctx, m, []dx.Event{ev}); err != nil {
		return Member{}, err
	}
	return m, nil
}

// Members lists the members of the caller's organisation (operators and regulators: of any).
func (s *Service) Members(ctx context.Context, orgID string) ([]Member, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if orgID == "" {
		orgID = p.OrgID
	}
	if orgID != p.OrgID && !p.SeesAll() {
		return nil, dx.Errorf(dx.ENotFound, "机构不存在 / organisation %q not found", orgID)
	}
	return s.Store.Members(ctx, orgID)
}
