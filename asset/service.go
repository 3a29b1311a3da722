package asset

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/blob"
	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/textsearch"
)

// Service is the use-case layer of assets.
type Service struct {
	Store   Store
	Blobs   blob.Store
	Engine  engine.Engine
	Clock   dx.Clock
	Log     *slog.Logger
	MaxSize int64 // largest accepted upload in bytes
	// ImportDir is the directory whose files may be registered in place by path; "" turns
	// in-place registration off.
	ImportDir string
	// Slots bounds concurrent ingestions (each runs the engine flat out); nil: unbounded.
	Slots chan struct{}
	// PseudonymSecret derives the per-recipient keys of pseudonyms; without it
	// identifiers are masked instead.
	PseudonymSecret []byte
	// CrossBorder gates deliveries to recipients abroad; nil treats every recipient as
	// domestic.
	CrossBorder crossborder.Store
}

// SampleRows is how many rows an asset page shows.
const SampleRows = 10

// Register is a request to register a dataset or a new version of one.
type Register struct {
	Name     string   `json:"name"`
	Meta     Meta     `json:"meta"`
	Rights   *Rights  `json:"rights,omitempty"`  // nil: the owner holds all three
	Lineage  []Parent `json:"lineage,omitempty"` // parents of a derived product
	FileName string   `json:"file_name"`
	Format   string   `json:"format,omitempty"` // "" to guess from the file name and content
	// ImportPath names a file inside the server's import directory to read in place
	// instead of an uploaded body (no copy: the fast path for large local files).
	ImportPath string `json:"import_path,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,79}$`)

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func notFound(id string) error {
	return dx.Errorf(dx.ENotFound, "数据资产不存在 / asset %q not found", id)
}

// CanSee reports whether p may see asset a in the catalog.
func CanSee(p dx.Principal, a Asset) bool {
	return a.OwnerID == p.OrgID || p.SeesAll() || a.Meta.Visibility != Private
}

// Asset returns an asset the caller may see; others' private assets are ENotFound.
func (s *Service) Asset(ctx context.Context, id string) (Asset, error) {
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return Asset{}, err
	}
	if !dx.ValidID(dx.PrefixAsset, id) {
		return Asset{}, notFound(id)
	}
	a, err := s.Store.Asset(ctx, id)
	if err != nil {
		return Asset{}, err
	}
	if !CanSee(p, a) {
		return Asset{}, notFound(id)
	}
	return a, nil
}

// Versions lists an asset's versions, newest first.
func (s *Service) Versions(ctx context.Context, id string) ([]Version, error) {
	if _, err := s.Asset(ctx, id); err != nil {
		return nil, err
	}
	return s.Store.Versions(ctx, id)
}

// Version returns version n of an asset (0: the latest).
func (s *Service) Version(ctx context.Context, id string, n int) (Asset, Version, error) {
	a, err := s.Asset(ctx, id)
	if err != nil {
		return Asset{}, Version{}, err
	}
	if n == 0 {
		n = a.LatestVersion
	}
	v, err := s.Store.Version(ctx, id, n)
	return a, v, err
}

// SearchDoc builds an asset's full-text document.
func SearchDoc(a Asset, cols []engine.Column) Search {
	body := []string{a.Meta.Description.Zh, a.Meta.Description.En, strings.Join(a.Meta.Keywords, " "), a.Meta.Source, a.Name}
	for _, c := range cols {
		body = append(body, c.Name)
	}
	return Search{Title: textsearch.Document(a.Meta.Title.Zh, a.Meta.Title.En), Body: textsearch.Document(body...)}
}

func (s *Service) checkRights(ctx context.Context, p dx.Principal, r *Rights, lineage []Parent) (Rights, error) {
	out := Rights{Holder: p.OrgID, ProcessingUse: []string{p.OrgID}, ProductOperator: p.OrgID}
	if r != nil {
		out = *r
		if out.Holder == "" {
			out.Holder = p.OrgID
		}
		if out.ProductOperator == "" {
			out.ProductOperator = out.Holder
		}
		slices.Sort(out.ProcessingUse)
		out.ProcessingUse = slices.Compact(out.ProcessingUse)
	}
	for _, id := range append([]string{out.Holder, out.ProductOperator}, out.ProcessingUse...) {
		if !dx.ValidID(dx.PrefixOrg, id) {
			return Rights{}, dx.Errorf(dx.EInvalid, "权利人 %q 不是机构 ID / right holder %q is not an organisation ID", id, id)
		}
	}
	for _, par := range lineage {
		if _, err := s.Asset(ctx, par.AssetID); err != nil {
			return Rights{}, dx.Errorf(dx.EInvalid, "上游资产 %q 不存在或不可见 / parent asset %q not found", par.AssetID, par.AssetID)
		}
		if err := textLen("transformation", par.Transformation, 100); err != nil {
			return Rights{}, err
		}
	}
	return out, nil
}

// Register ingests the file read from body and records it as a new asset, or as the next
// version of the caller's asset of the same name (whose metadata then stays as it is).
func (s *Service) Register(ctx context.Context, req Register, body io.Reader) (a Asset, v Version, err error) {
	defer dx.WrapOp(&err, "asset.Register")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return a, v, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return a, v, err
	}
	if !p.HasRole(dx.RoleProvider) && !p.HasRole(dx.RoleOperator) {
		return a, v, dx.Errorf(dx.EForbidden, "只有数据提供方可以登记数据 / only providers can register data")
	}
	if !nameRE.MatchString(req.Name) {
		return a, v, dx.Errorf(dx.EInvalid, "名称 %q 无效：须为 1–80 个小写字母、数字、. _ - / name %q must be 1–80 lower-case letters, digits, '.', '_' or '-'", req.Name, req.Name)
	}
	if req.Format != "" && !slices.Contains([]string{engine.FormatCSV, engine.FormatTSV, engine.FormatJSON, engine.FormatNDJSON, engine.FormatParquet}, req.Format) {
		return a, v, dx.Errorf(dx.EInvalid, "不支持的格式 %q / unsupported format %q (want csv, tsv, json, ndjson or parquet)", req.Format, req.Format)
	}
	// The file name is a label only: never a path. Keep its last element.
	req.FileName = path.Base(strings.ReplaceAll(req.FileName, `\`, "/"))
	if req.FileName == "." || req.FileName == "/" || req.FileName == ".." {
		req.FileName = ""
	}
	if err := textLen("file_name", req.FileName, 200); err != nil {
		return a, v, err
	}
	existing, err := s.Store.AssetByName(ctx, p.OrgID, req.Name)
	isNew := dx.ErrorCode(err) == dx.ENotFound
	if err != nil && !isNew {
		return a, v, err
	}
	var rights Rights
	if isNew {
		if err := req.Meta.normalize(); err != nil {
			return a, v, err
		}
		if rights, err = s.checkRights(ctx, p, req.Rights, req.Lineage); err != nil {
			return a, v, err
		}
	}

	if s.Slots != nil {
		select {
		case s.Slots <- struct{}{}:
			defer func() { <-s.Slots }()
		case <-ctx.Done():
			return a, v, ctx.Err()
		}
	}
	v, err = s.ingest(ctx, req, body)
	if err != nil {
		return a, v, err
	}
	v.CreatedBy = p.OrgID

	// Record it; on a race with another registration of the same name, look again.
	for attempt := 0; ; attempt++ {
		now := s.now()
		v.CreatedAt = now
		v.ID = dx.NewID(dx.PrefixVersion, now)
		if isNew {
			a = Asset{ID: dx.NewID(dx.PrefixAsset, now), OwnerID: p.OrgID, Name: req.Name, Meta: req.Meta, Rights: rights,
				Lineage: req.Lineage, Format: v.SourceFormat, LatestVersion: 1, Grade: levelOf(v), CreatedAt: now, UpdatedAt: now}
			if a.Lineage == nil {
				a.Lineage = []Parent{}
			}
			v.AssetID, v.Number = a.ID, 1
			evs := []dx.Event{
				dx.NewEvent(now, p, "asset.register", a.ID, map[string]any{"name": a.Name, "rights": a.Rights, "lineage": a.Lineage, "visibility": a.Meta.Visibility}),
				versionEvent(now, p, v),
			}
			err = s.Store.CreateAsset(ctx, a, v, SearchDoc(a, v.Columns), evs)
		} else {
			a = existing
			v.AssetID, v.Number = a.ID, a.LatestVersion+1
			a.LatestVersion, a.Format, a.UpdatedAt, a.Grade = v.Number, v.SourceFormat, now, levelOf(v)
			err = s.Store.AddVersion(ctx, v, SearchDoc(a, v.Columns), []dx.Event{versionEvent(now, p, v)})
		}
		if dx.ErrorCode(err) != dx.EConflict || attempt == 5 {
			break
		}
		existing, err = s.Store.AssetByName(ctx, p.OrgID, req.Name)
		if err != nil {
			return a, v, err
		}
		isNew = false
	}
	if err != nil {
		return Asset{}, Version{}, err
	}
	s.Log.Info("registered asset version", "asset", a.ID, "version", v.Number, "rows", v.RowCount, "bytes", v.SourceSize)
	return a, v, nil
}

func versionEvent(now time.Time, p dx.Principal, v Version) dx.Event {
	return dx.NewEvent(now, p, "asset.version", v.ID, map[string]any{"asset": v.AssetID, "number": v.Number,
		"sha256": v.Digest, "source_sha256": v.SourceDigest, "rows": v.RowCount})
}

// Update replaces an asset's metadata and, if given, its rights. Owner only.
func (s *Service) Update(ctx context.Context, id string, m Meta, r *Rights) (a Asset, err error) {
	defer dx.WrapOp(&err, "asset.Update")
	p, err := dx.PrincipalFrom(ctx)
	if err != nil {
		return a, err
	}
	if err := p.Require(dx.ScopeWrite); err != nil {
		return a, err
	}
	a, err = s.Asset(ctx, id)
	if err != nil {
		return a, err
	}
	if a.OwnerID != p.OrgID {
		return a, dx.Errorf(dx.EForbidden, "只有所有者可以修改数据资产 / only the owner can change an asset")
	}
	if err := m.normalize(); err != nil {
		return a, err
	}
	if r != nil {
		if a.Rights, err = s.checkRights(ctx, p, r, nil); err != nil {
			return a, err
		}
	}
	v, err := s.Store.Version(ctx, id, a.LatestVersion)
	if err != nil {
		return a, err
	}
	a.Meta, a.UpdatedAt = m, s.now()
	ev := dx.NewEvent(a.UpdatedAt, p, "asset.update", a.ID, map[string]any{"rights": a.Rights, "visibility": m.Visibility})
	if err := s.Store.UpdateAsset(ctx, a, SearchDoc(a, v.Columns), []dx.Event{ev}); err != nil {
		return a, err
	}
	return a, nil
}

// Rendition returns version v's data in format (csv or parquet), making and caching the
// export on first use. It does not authorise: the caller (access) does.
func (s *Service) Rendition(ctx context.Context, v Version, format string) (f blob.File, err error) {
	defer dx.WrapOp(&err, "asset.Rendition")
	return s.rendition(ctx, v, format, nil)
}

// Recipient is who data leaves for, and how.
type Recipient struct {
	Owner   bool   // the version's own provider: the data as stored
	OrgID   string // the recipient organisation
	Purpose string
	Country string // the recipient's attested country; "" for mainland China
	// Pseudonymise replaces identifiers by keyed pseudonyms (HMAC with a key of this
	// provider, recipient and purpose) instead of masking them, as an agreement with an
	// odrl:anonymize duty requires.
	Pseudonymise bool
}

// pseudonymKey is the HMAC key of one (provider, recipient, purpose): recipients cannot
// link their datasets, and the key never leaves the exchange.
func (s *Service) pseudonymKey(provider string, r Recipient) []byte {
	mac := hmac.New(sha256.New, s.PseudonymSecret)
	mac.Write([]byte("dxp1|" + provider + "|" + r.OrgID + "|" + r.Purpose))
	return mac.Sum(nil)
}

// Egress returns version v's data as it may leave for r, and whether it was masked or
// pseudonymised: core data, data holding credentials and important data not approved by
// the operator do not leave; columns holding personal data are masked as on the asset
// page, or their identifiers pseudonymised. The owner gets the data as stored.
func (s *Service) Egress(ctx context.Context, v Version, format string, r Recipient) (blob.File, bool, error) {
	toOwner := r.Owner
	g, p, err := s.gradeOf(ctx, v)
	if err != nil {
		return nil, false, err
	}
	if p == nil && !toOwner {
		// A version registered before classification existed: classify it now, before
		// anything leaves, and keep the proposal.
		if g, p, err = s.classifyLate(ctx, v, g); err != nil {
			return nil, false, err
		}
	}
	if toOwner {
		f, err := s.rendition(ctx, v, format, nil)
		return f, false, err
	}
	switch {
	case g.Core:
		return nil, false, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"code": "core-data"},
			Message: "核心数据不得流出 / core data never leaves the exchange"}
	case (g.Important || (p.ImportantCandidate && g.Level == 0)) && !g.Approved:
		return nil, false, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"code": "important-data-review"},
			Message: "重要数据：须经运营方审核批准后方可流出 / important data leaves only after the operator's review and approval"}
	case p.Credentials:
		return nil, false, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"code": "credentials"},
			Message: "含口令或密钥的数据不得流出 / data holding credentials never leaves the exchange"}
	}
	if s.CrossBorder != nil && crossborder.Abroad(r.Country) {
		if err := s.crossBorder(ctx, v, g, p, r); err != nil {
			return nil, false, err
		}
	}
	masks := map[string]engine.Mask{}
	if g.Level == 1 { // the operator found no personal data after all
		f, err := s.rendition(ctx, v, format, nil)
		return f, false, err
	}
	var key []byte
	if r.Pseudonymise && len(s.PseudonymSecret) > 0 {
		a, err := s.Store.Asset(ctx, v.AssetID)
		if err != nil {
			return nil, false, err
		}
		key = s.pseudonymKey(a.OwnerID, r)
	}
	for col, t := range classify.ColumnMasks(p.Columns) {
		if key != nil && classify.Identifier(t) {
			masks[col] = engine.Mask{Kind: engine.MaskHMAC, Key: key}
			continue
		}
		kind, first, last := classify.MaskSpec(t)
		masks[col] = engine.Mask{Kind: kind, First: first, Last: last}
	}
	variant := ""
	if key != nil {
		sum := sha256.Sum256(key)
		variant = "+p" + hex.EncodeToString(sum[:6]) // one cached rendition per recipient key
	}
	f, err := s.rendition(ctx, v, format, masks, variant)
	return f, len(masks) > 0, err
}

func (s *Service) rendition(ctx context.Context, v Version, format string, masks map[string]engine.Mask, variant ...string) (f blob.File, err error) {
	if format == "" {
		format = engine.FormatParquet
	}
	if format == engine.FormatParquet && len(masks) == 0 {
		return s.Blobs.Open(v.Digest)
	}
	if format != engine.FormatCSV && format != engine.FormatParquet {
		return nil, dx.Errorf(dx.EInvalid, "不支持的下载格式 %q / unsupported download format %q (want csv or parquet)", format, format)
	}
	key := format
	if len(masks) > 0 {
		key += "+masked" + strings.Join(variant, "")
	}
	if d, err := s.Store.Rendition(ctx, v.ID, key); err == nil {
		if f, err := s.Blobs.Open(d); err == nil {
			return f, nil
		}
	} else if dx.ErrorCode(err) != dx.ENotFound {
		return nil, err
	}
	src, err := s.Blobs.Path(v.Digest)
	if err != nil {
		return nil, err
	}
	tmp, err := s.Blobs.Temp("export-*")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	os.Remove(tmp.Name())
	defer os.Remove(tmp.Name())
	if len(masks) > 0 {
		err = s.Engine.ExportMasked(ctx, src, tmp.Name(), format, masks)
	} else {
		err = s.Engine.Export(ctx, src, tmp.Name(), format)
	}
	if err != nil {
		return nil, err
	}
	d, _, err := s.Blobs.Put(tmp.Name())
	if err != nil {
		return nil, err
	}
	if err := s.Store.SaveRendition(ctx, v.ID, key, d); err != nil {
		return nil, err
	}
	return s.Blobs.Open(d)
}

// crossBorder applies the cross-border gate to a delivery abroad and, if it may go,
// adds its persons to the provider's year-to-date counts.
func (s *Service) crossBorder(ctx context.Context, v Version, g Grade, p *classify.Proposal, r Recipient) error {
	a, err := s.Store.Asset(ctx, v.AssetID)
	if err != nil {
		return err
	}
	now := s.now()
	filings, err := s.CrossBorder.Filings(ctx, a.OwnerID)
	if err != nil {
		return err
	}
	pi := false
	for _, c := range p.Columns {
		for _, f := range c.Findings {
			pi = pi || f.Grade >= 2
		}
	}
	// The delivery's persons: distinct values of its best person identifier (every row,
	// if it has none), as a sketch built in the engine from hashes keyed per provider.
	path, err := s.Blobs.Path(v.Digest)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, s.PseudonymSecret)
	mac.Write([]byte("dx-persons|" + a.OwnerID))
	salt := binary.BigEndian.Uint64(mac.Sum(nil)) >> 1
	mins, err := s.Engine.MinHashes(ctx, path, p.PersonKey(), salt, crossborder.SketchBits)
	if err != nil {
		return err
	}
	delivered, err := crossborder.SketchFromMins(mins)
	if err != nil {
		return err
	}
	return s.CrossBorder.UpdateLedger(ctx, a.OwnerID, now.Year(), func(general, sensitive *crossborder.Sketch) ([]dx.Event, error) {
		g0, s0 := general.Estimate(), sensitive.Estimate()
		g1, s1 := *general, *sensitive
		g1.Merge(delivered)
		s1.Merge(delivered)
		d := crossborder.Decide(crossborder.Delivery{Core: g.Core, Important: g.Important || (p.ImportantCandidate && g.Level == 0),
			General: pi, Sensitive: p.Sensitive, Persons: max(g1.Estimate()-g0, 0), SensitivePersons: max(s1.Estimate()-s0, 0),
			YTDGeneral: g0, YTDSensitive: s0, Filings: filings, Now: now})
		if !d.Allow {
			return nil, &dx.Error{Code: dx.EForbidden, Details: map[string]any{"code": "cross-border", "mechanism": d.Mechanism, "country": r.Country},
				Message: "跨境提供被拒绝 / cross-border delivery refused — " + d.Rule}
		}
		if pi {
			*general = g1
		}
		if p.Sensitive {
			*sensitive = s1
		}
		return []dx.Event{dx.NewEvent(now, dx.Principal{OrgID: r.OrgID}, "crossborder.delivery", v.ID, map[string]any{"asset": a.ID, "provider": a.OwnerID,
			"country": r.Country, "mechanism": d.Mechanism, "general": d.General, "sensitive": d.Sensitive, "persons_by": p.PersonKey()})}, nil
	})
}

// levelOf is a new version's proposed level (0 if it was not classified).
func levelOf(v Version) int {
	if v.Classification == nil {
		return 0
	}
	return v.Classification.Level
}

// classifyLate classifies a version that was never classified and stores the proposal.
func (s *Service) classifyLate(ctx context.Context, v Version, g Grade) (Grade, *classify.Proposal, error) {
	path, err := s.Blobs.Path(v.Digest)
	if err != nil {
		return g, nil, err
	}
	scan := v
	if err := s.classifyFile(ctx, path, &scan, s.now()); err != nil {
		return g, nil, err
	}
	g.VersionID, g.AssetID, g.Proposal, g.UpdatedAt = v.ID, v.AssetID, scan.Classification, s.now()
	ev := dx.NewEvent(g.UpdatedAt, dx.Principal{}, "asset.classified", v.ID, map[string]any{"asset": v.AssetID, "level": scan.Classification.Level, "late": true})
	return g, scan.Classification, s.Store.SaveGrade(ctx, g, []dx.Event{ev})
}
