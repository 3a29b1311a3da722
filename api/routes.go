package api

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/blob"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/region"
)

// Routes returns the API's operations.
func (a *API) Routes() []Route {
	return append(append(append(append(a.coreRoutes(), a.contractRoutes()...), a.remoteRoutes()...), a.auditRoutes()...), a.computeRoutes()...)
}

func (a *API) coreRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This API's OpenAPI 3 document", Response: "json", handler: a.openAPI},
		{Method: "GET", Path: "/api/v1/reference", Summary: "Reference lists: GB/T 4754 industries, GB/T 2260 provinces, update frequencies", Response: "json", handler: a.reference},
		{Method: "GET", Path: "/api/v1/whoami", Summary: "The caller's organisation and token scopes", Auth: true, Response: "json", handler: a.whoami},
		{Method: "GET", Path: "/api/v1/orgs", Summary: "List organisations", Auth: true, Response: "json", handler: a.listOrgs},
		{Method: "POST", Path: "/api/v1/orgs", Summary: "Create an organisation and its first token (operator admin)", Auth: true, Body: "json", Response: "json", handler: a.createOrg},
		{Method: "GET", Path: "/api/v1/orgs/{id}", Summary: "Show an organisation", Auth: true, Response: "json", handler: a.getOrg},
		{Method: "GET", Path: "/api/v1/orgs/{id}/filings", Summary: "List a provider's cross-border filings", Auth: true, Response: "json", handler: a.listFilings},
		{Method: "POST", Path: "/api/v1/orgs/{id}/filings", Summary: "Record a provider's cross-border filing: {kind: security-assessment|standard-contract|certification, reference, valid_until}", Auth: true, Body: "json", Response: "json", handler: a.addFiling},
		{Method: "GET", Path: "/api/v1/orgs/{id}/members", Summary: "List an organisation's members", Auth: true, Response: "json", handler: a.listMembers},
		{Method: "POST", Path: "/api/v1/orgs/{id}/members", Summary: "Add a member to an organisation", Auth: true, Body: "json", Response: "json", handler: a.addMember},
		{Method: "GET", Path: "/api/v1/tokens", Summary: "List the caller's organisation's tokens", Auth: true, Query: []string{"org"}, Response: "json", handler: a.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Summary: "Create a token (its secret is shown once)", Auth: true, Body: "json", Response: "json", handler: a.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Summary: "Revoke a token, effective immediately", Auth: true, Response: "json", handler: a.revokeToken},
		{Method: "POST", Path: "/api/v1/assets", Summary: "Register a dataset or a new version: multipart with a 'meta' JSON part, then a 'file' part (none when meta.import_path names a file in the server's import directory)", Auth: true, Body: "multipart", Response: "json", handler: a.registerAsset},
		{Method: "GET", Path: "/api/v1/assets/{id}", Summary: "Show an asset with its latest version's schema, statistics and sample", Auth: true, Response: "json", handler: a.getAsset},
		{Method: "POST", Path: "/api/v1/assets/{id}/classify", Summary: "Classify the latest version again (provider or operator): personal data found, proposed grade", Auth: true, Response: "json", handler: a.classifyAsset},
		{Method: "POST", Path: "/api/v1/assets/{id}/grade", Summary: "Confirm or override the proposed grade, with a reason: {level, important, core, approve_egress (operator), reason}", Auth: true, Body: "json", Response: "json", handler: a.gradeAsset},
		{Method: "PATCH", Path: "/api/v1/assets/{id}", Summary: "Replace an asset's metadata and rights (owner)", Auth: true, Body: "json", Response: "json", handler: a.updateAsset},
		{Method: "GET", Path: "/api/v1/assets/{id}/versions", Summary: "List an asset's versions", Auth: true, Response: "json", handler: a.listVersions},
		{Method: "GET", Path: "/api/v1/assets/{id}/versions/{n}", Summary: "Show one version", Auth: true, Response: "json", handler: a.getVersion},
		{Method: "GET", Path: "/api/v1/assets/{id}/data", Summary: "Download a version as CSV or Parquet (Range supported; needs an approved grant)", Auth: true, Query: []string{"format", "version", "purpose"}, Response: "stream", handler: a.download},
		{Method: "GET", Path: "/api/v1/catalog", Summary: "Search and list the catalog", Auth: true, Query: []string{"q", "industry", "region", "provider", "format", "updated_since", "limit", "cursor"}, Response: "json", handler: a.search},
		{Method: "GET", Path: "/api/v1/grants", Summary: "List the caller's access grants", Auth: true, Query: []string{"status"}, Response: "json", handler: a.listGrants},
		{Method: "POST", Path: "/api/v1/grants", Summary: "Request access to an asset, stating the purpose", Auth: true, Body: "json", Response: "json", handler: a.requestGrant},
		{Method: "POST", Path: "/api/v1/grants/{id}/decision", Summary: "Approve, reject or revoke a grant (provider)", Auth: true, Body: "json", Response: "json", handler: a.decideGrant},
		{Method: "GET", Path: "/api/v1/events", Summary: "Read audit events in order (operators, regulators)", Auth: true, Query: []string{"after", "limit"}, Response: "json", handler: a.listEvents},
	}
}

func (a *API) reference(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, 200, map[string]any{"industries": asset.Industries, "provinces": region.Provinces, "frequencies": asset.Frequencies,
		"visibilities": []string{asset.Private, asset.Listed, asset.Open}})
	return nil
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := dx.PrincipalFrom(r.Context())
	org, err := a.Parties.Org(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"org": org, "token_id": p.TokenID, "scopes": p.Scopes})
	return nil
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request) error {
	orgs, err := a.Parties.Orgs(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"orgs": orgs})
	return nil
}

// CreatedOrg is the answer to POST /api/v1/orgs.
type CreatedOrg struct {
	Org   party.Org `json:"org"`
	Token string    `json:"token"` // shown once
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request) error {
	var req party.NewOrg
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	org, secret, err := a.Parties.CreateOrg(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, 201, CreatedOrg{Org: org, Token: secret})
	return nil
}

func (a *API) getOrg(w http.ResponseWriter, r *http.Request) error {
	org, err := a.Parties.Org(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, org)
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.Parties.Members(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"members": ms})
	return nil
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	m, err := a.Parties.AddMember(r.Context(), r.PathValue("id"), req.Name, req.Email)
	if err != nil {
		return err
	}
	writeJSON(w, 201, m)
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	toks, err := a.Parties.Tokens(r.Context(), r.URL.Query().Get("org"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"tokens": toks})
	return nil
}

// CreatedToken is the answer to POST /api/v1/tokens.
type CreatedToken struct {
	Token  party.Token `json:"token"`
	Secret string      `json:"secret"` // shown once
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org    string   `json:"org,omitempty"`
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	tok, secret, err := a.Parties.CreateToken(r.Context(), req.Org, req.Name, req.Scopes)
	if err != nil {
		return err
	}
	writeJSON(w, 201, CreatedToken{Token: tok, Secret: secret})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.Parties.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"revoked": r.PathValue("id")})
	return nil
}

// Registered is the answer to POST /api/v1/assets.
type Registered struct {
	Asset   asset.Asset   `json:"asset"`
	Version asset.Version `json:"version"`
}

// registerAsset reads a multipart body: first a "meta" part (asset.Register as JSON),
// then a "file" part streamed straight into ingestion, never held in memory.
func (a *API) registerAsset(w http.ResponseWriter, r *http.Request) error {
	if a.Assets.MaxSize > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, a.Assets.MaxSize+(1<<20))
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return dx.Errorf(dx.EInvalid, "需要 multipart/form-data 请求 / the request must be multipart/form-data with a meta part and a file part")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return dx.Errorf(dx.EInvalid, "multipart 请求格式错误 / malformed multipart request: %v", err)
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "meta" {
		return dx.Errorf(dx.EInvalid, "第一部分必须是 meta（JSON）/ the first part must be 'meta' (JSON)")
	}
	var req asset.Register
	dec := json.NewDecoder(io.LimitReader(part, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return dx.Errorf(dx.EInvalid, "meta 不是有效的 JSON / the meta part is not valid JSON: %v", err)
	}
	var file io.Reader
	if req.ImportPath == "" { // else the server reads a file in its import directory
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "file" {
			return dx.Errorf(dx.EInvalid, "第二部分必须是 file / the second part must be 'file'")
		}
		if req.FileName == "" {
			req.FileName = part.FileName()
		}
		file = part
	}
	as, v, err := a.Assets.Register(r.Context(), req, file)
	if err != nil {
		return err
	}
	writeJSON(w, 201, Registered{Asset: as, Version: v})
	return nil
}

// AssetPage is an asset with its latest version: what an asset's page shows.
type AssetPage struct {
	Asset   asset.Asset   `json:"asset"`
	Version asset.Version `json:"version"`
	Grade   asset.Grade   `json:"grade"` // the proposal in force and the decision, if any
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) error {
	as, v, err := a.Assets.Version(r.Context(), r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	g, err := a.Assets.GradeOf(r.Context(), v)
	if err != nil {
		return err
	}
	writeJSON(w, 200, AssetPage{Asset: as, Version: v, Grade: g})
	return nil
}

func (a *API) classifyAsset(w http.ResponseWriter, r *http.Request) error {
	g, err := a.Assets.Reclassify(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, g)
	return nil
}

func (a *API) gradeAsset(w http.ResponseWriter, r *http.Request) error {
	var d asset.Decision
	if err := a.decode(w, r, &d); err != nil {
		return err
	}
	g, err := a.Assets.Decide(r.Context(), r.PathValue("id"), d)
	if err != nil {
		return err
	}
	writeJSON(w, 200, g)
	return nil
}

func (a *API) updateAsset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Meta   asset.Meta    `json:"meta"`
		Rights *asset.Rights `json:"rights,omitempty"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	as, err := a.Assets.Update(r.Context(), r.PathValue("id"), req.Meta, req.Rights)
	if err != nil {
		return err
	}
	writeJSON(w, 200, as)
	return nil
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := a.Assets.Versions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"versions": vs})
	return nil
}

func versionNumber(s string) (int, error) {
	if s == "" || s == "latest" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, dx.Errorf(dx.EInvalid, "版本号 %q 无效 / version %q is not a positive number", s, s)
	}
	return n, nil
}

func (a *API) getVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionNumber(r.PathValue("n"))
	if err != nil {
		return err
	}
	_, v, err := a.Assets.Version(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	writeJSON(w, 200, v)
	return nil
}

// download streams a version with http.ServeContent: constant memory, Range and
// conditional requests; each version's rendition is immutable.
func (a *API) download(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n, err := versionNumber(q.Get("version"))
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	f, v, err := a.Access.Fetch(r.Context(), r.PathValue("id"), n, format, q.Get("purpose"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveVersion(w, r, f, v, format)
	return nil
}

// serveVersion streams an immutable rendition with http.ServeContent.
func serveVersion(w http.ResponseWriter, r *http.Request, f blob.File, v asset.Version, format string) {
	name := fmt.Sprintf("%s-v%d.%s", v.AssetID, v.Number, format)
	ctype := "text/csv; charset=utf-8"
	if format == "parquet" {
		ctype = "application/vnd.apache.parquet"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("ETag", `"`+v.ID+"."+format+`"`)
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("X-Dx-Version", strconv.Itoa(v.Number))
	http.ServeContent(w, r, name, v.CreatedAt, f)
}

func (a *API) search(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Query()
	q := catalog.Query{Text: p.Get("q"), Industry: p.Get("industry"), Region: p.Get("region"), Provider: p.Get("provider"),
		Format: p.Get("format"), Cursor: p.Get("cursor")}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return dx.Errorf(dx.EInvalid, "limit 必须是正整数 / limit must be a positive number")
		}
		q.Limit = n
	}
	if s := p.Get("updated_since"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return err
		}
		q.UpdatedSince = t
	}
	page, err := a.Catalog.Search(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, dx.Errorf(dx.EInvalid, "时间 %q 格式错误，应为 RFC 3339 或 YYYY-MM-DD / time %q is not RFC 3339 or YYYY-MM-DD", s, s)
}

func (a *API) listGrants(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.Access.Grants(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"grants": gs})
	return nil
}

func (a *API) requestGrant(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AssetID string `json:"asset_id"`
		Purpose string `json:"purpose"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	g, err := a.Access.Request(r.Context(), req.AssetID, req.Purpose)
	if err != nil {
		return err
	}
	writeJSON(w, 201, g)
	return nil
}

func (a *API) decideGrant(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	g, err := a.Access.Decide(r.Context(), r.PathValue("id"), req.Status, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, 200, g)
	return nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	evs, err := a.Audit.Events(r.Context(), after, limit)
	if err != nil {
		return err
	}
	type event struct {
		Seq     int64           `json:"seq"`
		ID      string          `json:"id"`
		Time    time.Time       `json:"time"`
		Actor   string          `json:"actor"`
		TokenID string          `json:"token_id,omitempty"`
		Action  string          `json:"action"`
		Subject string          `json:"subject"`
		Payload json.RawMessage `json:"payload"`
	}
	out := make([]event, len(evs))
	for i, e := range evs {
		out[i] = event{e.Seq, e.ID, e.Time, e.Actor, e.TokenID, e.Action, e.Subject, e.Payload}
	}
	writeJSON(w, 200, map[string]any{"events": out})
	return nil
}

func (a *API) listFilings(w http.ResponseWriter, r *http.Request) error {
	if a.CrossBorder == nil {
		return dx.Errorf(dx.ENotFound, "未启用 / not enabled")
	}
	p, err := dx.PrincipalFrom(r.Context())
	if err != nil {
		return err
	}
	if p.OrgID != r.PathValue("id") && !p.SeesAll() {
		return dx.Errorf(dx.EForbidden, "只能查看本机构的备案 / only your own organisation's filings")
	}
	fs, err := a.CrossBorder.Store.Filings(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"filings": fs})
	return nil
}

func (a *API) addFiling(w http.ResponseWriter, r *http.Request) error {
	if a.CrossBorder == nil {
		return dx.Errorf(dx.ENotFound, "未启用 / not enabled")
	}
	var req struct {
		Kind       string    `json:"kind"`
		Reference  string    `json:"reference"`
		ValidUntil time.Time `json:"valid_until"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	f, err := a.CrossBorder.AddFiling(r.Context(), r.PathValue("id"), req.Kind, req.Reference, req.ValidUntil)
	if err != nil {
		return err
	}
	writeJSON(w, 201, f)
	return nil
}
