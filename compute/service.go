package compute

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/policy"
)

// Engine is what compute needs of the analytic engine: its parser and its sandbox.
type Engine interface {
	ParseSQL(ctx context.Context, query string) ([]byte, error)
	engine.Sandbox
}

// Service runs differentially private queries on data that never leaves. Every query
// passes the same steps: static checks (nothing spent, nothing touched), the agreement's
// decision for the compute channel, the cache, a budget reservation, sandboxed
// execution, noise, commit. Only three outcomes reach the consumer: an invalid query
// (with detail), an exhausted budget, or a generic failure (charged).
type Service struct {
	Store     Store
	Assets    *asset.Service
	Contracts *contract.Service
	Engine    Engine
	Clock     dx.Clock
	Log       *slog.Logger
	Limits    engine.Limits // the sandbox's threads and memory
	Timeout   time.Duration // per query; 0: 30 s
	// Pad rounds every answer's latency up to a multiple of it (0: no padding), so the
	// time an answer takes says little about the data.
	Pad time.Duration
	// Slots bounds concurrent queries on this node (nil: unbounded).
	Slots chan struct{}

	building sync.Mutex // one snapshot build at a time
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 30 * time.Second
}

// Answer is a released result with the budget it leaves.
type Answer struct {
	Result
	AssetID     string `json:"asset_id"`
	Version     int    `json:"version"`
	AgreementID string `json:"agreement_id,omitempty"`
	QueryHash   string `json:"query_hash"`
	// Spent and Limits are the agreement's ledger after this query (absent for owners).
	Spent  *Budget `json:"spent,omitempty"`
	Limits *Limits `json:"limits,omitempty"`
}

// Configure declares how an asset may be computed on: its privacy unit column ("" for
// one row per person) and the cap on groups one unit may touch. Only the owner may.
func (s *Service) Configure(ctx context.Context, assetID, unitColumn string, maxGroups, snapshotRows int) (st Settings, err error) {
	defer dx.WrapOp(&err, "compute.Configure")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return st, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return st, err
	}
	a, v, err := s.Assets.Version(ctx, assetID, 0)
	if err != nil {
		return st, err
	}
	if a.OwnerID != p.OrgID {
		return st, dx.Errorf(dx.EForbidden, "只有数据提供方可以设置计算 / only the asset's provider sets up computing on it")
	}
	if unitColumn != "" && !slices.ContainsFunc(v.Columns, func(c engine.Column) bool { return c.Name == unitColumn }) {
		return st, dx.Errorf(dx.EInvalid, "数据没有列 %q / the asset has no column %q", unitColumn, unitColumn)
	}
	if maxGroups == 0 {
		maxGroups = 1
	}
	if maxGroups < 1 || maxGroups > maxL0 {
		return st, dx.Errorf(dx.EInvalid, "max_groups 须在 1–%d 之间 / max_groups must be from 1 to %d", maxL0, maxL0)
	}
	if snapshotRows < 0 || snapshotRows > maxSnapshotRows || snapshotRows > 0 && unitColumn == "" {
		return st, dx.Errorf(dx.EInvalid, "snapshot_rows 须在 0–%d 之间且需要隐私单元列 / snapshot_rows must be from 0 to %d, and needs a unit column", maxSnapshotRows, maxSnapshotRows)
	}
	st = Settings{AssetID: a.ID, UnitColumn: unitColumn, MaxGroups: maxGroups, SnapshotRows: snapshotRows}
	now := s.now()
	ev := dx.NewEvent(now, p, "compute.settings", a.ID, map[string]any{"unit_column": unitColumn, "max_groups": maxGroups, "snapshot_rows": snapshotRows})
	return st, s.Store.SetComputeSettings(ctx, st, now, []dx.Event{ev})
}

// Settings returns an asset's compute settings to anyone who can see the asset.
func (s *Service) Settings(ctx context.Context, assetID string) (Settings, error) {
	a, err := s.Assets.Asset(ctx, assetID)
	if err != nil {
		return Settings{}, err
	}
	return s.Store.ComputeSettings(ctx, a.ID)
}

// LimitsOf reads an agreement's budget limits, the defaults filling what it leaves out.
func LimitsOf(p policy.Policy) Limits {
	l := DefaultLimits
	for k, v := range policy.DPLimits(p) {
		switch k {
		case policy.DPEpsilon:
			l.PerQuery.Epsilon = v
		case policy.DPEpsilonTotal:
			l.Total.Epsilon = v
		case policy.DPDelta:
			l.PerQuery.Delta = v
		case policy.DPDeltaTotal:
			l.Total.Delta = v
		case policy.DPRho:
			l.PerQuery.Rho = v
		case policy.DPRhoTotal:
			l.Total.Rho = v
		}
	}
	return l
}

// Budget returns an agreement's ledger and limits to its parties.
func (s *Service) Budget(ctx context.Context, agreementID string) (Ledger, Limits, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Ledger{}, Limits{}, err
	}
	rec, err := s.Contracts.Store.Agreement(ctx, agreementID)
	if err != nil {
		return Ledger{}, Limits{}, err
	}
	if rec.ConsumerID != p.OrgID && rec.ProviderID != p.OrgID && !p.SeesAll() {
		return Ledger{}, Limits{}, dx.Errorf(dx.ENotFound, "协议不存在 / agreement %q not found", agreementID)
	}
	l, err := s.Store.BudgetLedger(ctx, agreementID)
	return l, LimitsOf(rec.Agreement.Policy), err
}

// ErrBudgetExhausted is in the chain of a refusal for lack of budget.
var ErrBudgetExhausted = errors.New("privacy budget exhausted")

// Query runs one DP query on the latest version of an asset for purpose ("" for the
// one the agreement pins).
func (s *Service) Query(ctx context.Context, assetID, text, purpose string) (ans Answer, err error) {
	defer dx.WrapOp(&err, "compute.Query")
	start := time.Now()
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return ans, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return ans, err
	}
	a, v, err := s.Assets.Version(ctx, assetID, 0)
	if err != nil {
		return ans, err
	}
	ans.AssetID, ans.Version = a.ID, v.Number
	st, err := s.Store.ComputeSettings(ctx, a.ID)
	if dx.ErrorCode(err) == dx.ENotFound {
		return ans, dx.Errorf(dx.EForbidden, "数据提供方尚未开放计算 / the provider has not opened this asset to computing (dx compute setup)")
	} else if err != nil {
		return ans, err
	}
	// Static checks: they depend only on the text and public metadata; nothing is spent.
	opts, blanked, err := PreLex(text)
	if err != nil {
		return ans, err
	}
	tree, err := s.Engine.ParseSQL(ctx, blanked)
	if err != nil {
		return ans, err
	}
	cols := map[string]string{}
	for _, c := range v.Columns {
		cols[c.Name] = c.Type
	}
	q, err := Validate(tree, Table{Name: a.Name, Columns: cols})
	if err != nil {
		return ans, err
	}
	owner := a.OwnerID == p.OrgID
	var rec contract.Record
	limits := DefaultLimits
	if !owner {
		recs, err := s.Contracts.Eligible(ctx, a.ID, "compute", purpose)
		if err != nil {
			return ans, err
		}
		if len(recs) == 0 { // let the enforcement point refuse, with its reasons, and record it
			_, err := s.Contracts.UseUnder(ctx, "", a.ID, v.ID, "compute", purpose)
			if err == nil || err == contract.ErrNoAgreement {
				err = dx.Errorf(dx.EForbidden, "没有允许计算的协议 / no agreement allows computing on this asset: negotiate one with the compute channel")
			}
			return ans, err
		}
		rec = recs[0]
		limits = LimitsOf(rec.Agreement.Policy)
		ans.AgreementID = rec.ID
	}

	var seedBytes [8]byte
	rand.Read(seedBytes[:])
	plan, err := NewPlan(opts, q, st, limits, binary.LittleEndian.Uint64(seedBytes[:])>>1)
	if err != nil {
		return ans, err
	}
	ans.QueryHash = queryHash(tree, opts)
	cacheKey := hashOf(rec.ID, v.ID, ans.QueryHash)

	if !owner { // an identical query on the same version under the same agreement: the same answer, free
		if cached, err := s.Store.Answer(ctx, cacheKey); err == nil {
			if _, err := s.Contracts.UseUnder(ctx, rec.ID, a.ID, v.ID, "compute", purpose); err != nil {
				return ans, err
			}
			if err := json.Unmarshal(cached, &ans.Result); err != nil {
				return ans, err
			}
			ans.Cached, ans.Cost = true, Budget{}
			ev := dx.NewEvent(s.now(), p, "compute.query", rec.ID, map[string]any{"asset": a.ID, "version": v.Number, "query": ans.QueryHash,
				"cached": true, "result": hashOf(string(cached))})
			if err := s.Store.RecordEvents(ctx, []dx.Event{ev}); err != nil {
				return ans, err
			}
			return s.finish(ctx, ans, rec.ID, limits, start)
		} else if dx.ErrorCode(err) != dx.ENotFound {
			return ans, err
		}
	}

	var resID string
	if !owner {
		resID = dx.NewID("dpr", s.now())
		led, ok, err := s.Store.Reserve(ctx, Reservation{ID: resID, AgreementID: rec.ID, QueryHash: ans.QueryHash, Cost: plan.Cost, At: s.now()}, limits.Total)
		if err != nil {
			return ans, err
		}
		if !ok {
			ev := dx.NewEvent(s.now(), p, "compute.refused", rec.ID, map[string]any{"asset": a.ID, "query": ans.QueryHash, "reason": "budget-exhausted"})
			if err := s.Store.RecordEvents(ctx, []dx.Event{ev}); err != nil {
				return ans, err
			}
			left := Budget{Epsilon: limits.Total.Epsilon - led.Spent.Epsilon - led.Reserved.Epsilon, Delta: limits.Total.Delta - led.Spent.Delta - led.Reserved.Delta,
				Rho: limits.Total.Rho - led.Spent.Rho - led.Reserved.Rho}
			return ans, &dx.Error{Code: dx.EForbidden, Err: ErrBudgetExhausted,
				Details: map[string]any{"code": "budget-exhausted", "spent": led.Spent, "limits": limits.Total, "remaining": left, "cost": plan.Cost},
				Message: fmt.Sprintf("隐私预算已用尽 / privacy budget exhausted: this query costs ε=%g δ=%g ρ=%g, the agreement has ε=%g δ=%g ρ=%g left of ε=%g δ=%g ρ=%g",
					plan.Cost.Epsilon, plan.Cost.Delta, plan.Cost.Rho, max(left.Epsilon, 0), max(left.Delta, 0), max(left.Rho, 0), limits.Total.Epsilon, limits.Total.Delta, limits.Total.Rho)}
		}
		// The enforcement point: expiry, count, purpose, revocation — counted as one use.
		if _, err := s.Contracts.UseUnder(ctx, rec.ID, a.ID, v.ID, "compute", purpose); err != nil {
			if serr := s.Store.Settle(ctx, resID, false, nil); serr != nil {
				s.Log.Error("cannot release a reservation", "reservation", resID, "err", serr)
			}
			return ans, err
		}
	}

	// From here on the data is touched: whatever happens, the charge stands.
	res, runErr := s.run(ctx, v, rec.ID, plan)
	subject := rec.ID
	if owner {
		subject = v.ID
	}
	payload := map[string]any{"asset": a.ID, "version": v.Number, "query": ans.QueryHash, "cost": plan.Cost, "cached": false}
	var body []byte
	if runErr == nil {
		body, _ = json.Marshal(res)
		payload["result"] = hashOf(string(body))
		payload["groups"] = len(res.Rows)
	} else {
		payload["failed"] = true
		s.Log.Warn("compute query failed", "asset", a.ID, "query", ans.QueryHash, "err", runErr)
	}
	ev := dx.NewEvent(s.now(), p, "compute.query", subject, payload)
	if owner {
		err = s.Store.RecordEvents(ctx, []dx.Event{ev})
	} else {
		err = s.Store.Settle(ctx, resID, true, []dx.Event{ev})
	}
	if err != nil {
		return ans, err
	}
	if runErr != nil {
		s.pad(ctx, start, true)
		return ans, dx.Errorf(dx.EInternal, "查询失败（已计入预算）/ the query failed (its budget is spent)")
	}
	ans.Result = res
	if !owner {
		if err := s.Store.SaveAnswer(ctx, cacheKey, rec.ID, body, s.now()); err != nil {
			return ans, err
		}
	}
	return s.finish(ctx, ans, rec.ID, limits, start)
}

// run executes a plan in the sandbox and noises its cells.
func (s *Service) run(ctx context.Context, v asset.Version, agreementID string, plan Plan) (Result, error) {
	if s.Slots != nil {
		select {
		case s.Slots <- struct{}{}:
			defer func() { <-s.Slots }()
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	digest := v.Digest
	if plan.Snapshot > 0 {
		var err error
		if digest, err = s.snapshot(ctx, v, agreementID, plan); err != nil {
			return Result{}, err
		}
	}
	src, err := s.Assets.Blobs.Path(digest)
	if err != nil {
		return Result{}, err
	}
	rows, err := s.Engine.Compute(ctx, src, plan.SQL, s.Limits)
	if err != nil {
		return Result{}, err
	}
	return plan.Release(rows)
}

// snapshot returns the bounded snapshot of a version for an agreement, building it on
// first use (one build at a time per node; a concurrent build elsewhere is harmless:
// the first one recorded stays).
func (s *Service) snapshot(ctx context.Context, v asset.Version, agreementID string, plan Plan) (string, error) {
	d, err := s.Store.Snapshot(ctx, v.ID, agreementID)
	if err == nil || dx.ErrorCode(err) != dx.ENotFound {
		return d, err
	}
	s.building.Lock()
	defer s.building.Unlock()
	if d, err := s.Store.Snapshot(ctx, v.ID, agreementID); err == nil || dx.ErrorCode(err) != dx.ENotFound {
		return d, err
	}
	src, err := s.Assets.Blobs.Path(v.Digest)
	if err != nil {
		return "", err
	}
	tmp, err := s.Assets.Blobs.Temp("snapshot-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	os.Remove(tmp.Name())
	defer os.Remove(tmp.Name())
	var seed [8]byte
	rand.Read(seed[:])
	rows, err := s.Engine.Snapshot(ctx, src, tmp.Name(), plan.Unit, plan.Snapshot, binary.LittleEndian.Uint64(seed[:])>>1)
	if err != nil {
		return "", err
	}
	d, _, err = s.Assets.Blobs.Put(tmp.Name())
	if err != nil {
		return "", err
	}
	if err := s.Store.SaveSnapshot(ctx, v.ID, agreementID, d, rows, s.now()); err != nil {
		return "", err
	}
	return s.Store.Snapshot(ctx, v.ID, agreementID)
}

// finish adds the ledger to an answer and pads its latency.
func (s *Service) finish(ctx context.Context, ans Answer, agreementID string, limits Limits, start time.Time) (Answer, error) {
	if agreementID != "" {
		led, err := s.Store.BudgetLedger(ctx, agreementID)
		if err != nil {
			return ans, err
		}
		ans.Spent, ans.Limits = &led.Spent, &limits
	}
	s.pad(ctx, start, false)
	return ans, nil
}

// pad sleeps until the next multiple of Pad since start (failures: the deadline's).
func (s *Service) pad(ctx context.Context, start time.Time, failed bool) {
	if s.Pad <= 0 {
		return
	}
	elapsed := time.Since(start)
	target := (elapsed/s.Pad + 1) * s.Pad
	if failed {
		target = max(target, s.timeout())
	}
	select {
	case <-time.After(target - elapsed):
	case <-ctx.Done():
	}
}

// queryHash identifies a query by its syntax tree without positions, and its options.
func queryHash(tree []byte, opts Options) string {
	var doc any
	if err := json.Unmarshal(tree, &doc); err == nil {
		stripLocations(doc)
		tree, _ = json.Marshal(doc)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strings.ToLower(opts[k]) + ";")
	}
	return hashOf(string(tree), b.String())
}

func stripLocations(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "query_location")
		for _, c := range x {
			stripLocations(c)
		}
	case []any:
		for _, c := range x {
			stripLocations(c)
		}
	}
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
