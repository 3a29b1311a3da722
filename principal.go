package dx

import (
	"context"
	"slices"
)

// Roles an organisation can hold on an exchange.
const (
	RoleOperator  = "operator"  // runs the exchange; sees everything, manages organisations
	RoleProvider  = "provider"  // registers and offers data
	RoleConsumer  = "consumer"  // requests and uses data
	RoleRegulator = "regulator" // reads everything, changes nothing
)

// Token scopes. A token may do only what its scopes allow, within its organisation's roles.
const (
	ScopeRead  = "read"  // read the catalog and the organisation's own records
	ScopeWrite = "write" // change the organisation's assets, grants and tokens
	ScopeAdmin = "admin" // manage organisations (operator only)
)

// Principal is who is acting: an organisation through one of its tokens.
type Principal struct {
	OrgID   string
	TokenID string
	Roles   []string
	Scopes  []string
	Country string // the organisation's attested country; "" for mainland China
}

// HasRole reports whether the principal's organisation holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// HasScope reports whether the principal's token carries scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// SeesAll reports whether the principal may read every organisation's records
// (operators and regulators).
func (p Principal) SeesAll() bool { return p.HasRole(RoleOperator) || p.HasRole(RoleRegulator) }

// ListScope is the organisation whose records p may list: its own, or "" for every
// organisation's (operators and regulators).
func (p Principal) ListScope() string {
	if p.SeesAll() {
		return ""
	}
	return p.OrgID
}

// Require returns a forbidden error unless the principal's token has scope.
func (p Principal) Require(scope string) error {
	if !p.HasScope(scope) {
		return Errorf(EForbidden, "令牌缺少权限范围 %q / token lacks scope %q", scope, scope)
	}
	return nil
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or an unauthorized error if there is none.
func PrincipalFrom(ctx context.Context) (Principal, error) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	if !ok || p.OrgID == "" {
		return Principal{}, Errorf(EUnauthorized, "需要身份认证 / authentication required")
	}
	return p, nil
}
