// Package client is a Go client for dx's /api/v1. The dx CLI uses it, and so can tests
// and scripts. Errors from the server come back as *dx.Error with the server's code and
// message, so callers can branch on dx.ErrorCode.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/access"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/party"
)

// Client talks to one dx server with one token.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client
}

// New returns a client.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{}}
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, dx.Wrap(err, dx.EInternal, "无法连接 dx 服务 / cannot reach the dx server at "+c.BaseURL)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

func decodeError(resp *http.Response) error {
	var eb api.ErrorBody
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
		return dx.Errorf(dx.EInternal, "服务器返回 %s / the server answered %s: %s", resp.Status, resp.Status, strings.TrimSpace(string(raw)))
	}
	return &dx.Error{Code: eb.Error.Code, Message: eb.Error.Message, Details: eb.Error.Details}
}

// Do sends in (if not nil) as JSON and decodes the answer into out (if not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	resp, err := c.request(ctx, method, path, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Whoami returns the caller's organisation.
func (c *Client) Whoami(ctx context.Context) (party.Org, error) {
	var out struct {
		Org party.Org `json:"org"`
	}
	err := c.Do(ctx, "GET", "/api/v1/whoami", nil, &out)
	return out.Org, err
}

// CreateOrg creates an organisation (operator admin) and returns its first token.
func (c *Client) CreateOrg(ctx context.Context, n party.NewOrg) (api.CreatedOrg, error) {
	var out api.CreatedOrg
	err := c.Do(ctx, "POST", "/api/v1/orgs", n, &out)
	return out, err
}

// Orgs lists organisations.
func (c *Client) Orgs(ctx context.Context) ([]party.Org, error) {
	var out struct {
		Orgs []party.Org `json:"orgs"`
	}
	err := c.Do(ctx, "GET", "/api/v1/orgs", nil, &out)
	return out.Orgs, err
}

// CreateToken makes a token for the caller's organisation (or org, for an operator admin).
func (c *Client) CreateToken(ctx context.Context, org, name string, scopes []string) (api.CreatedToken, error) {
	var out api.CreatedToken
	err := c.Do(ctx, "POST", "/api/v1/tokens", map[string]any{"org": org, "name": name, "scopes": scopes}, &out)
	return out, err
}

// Tokens lists tokens.
func (c *Client) Tokens(ctx context.Context, org string) ([]party.Token, error) {
	var out struct {
		Tokens []party.Token `json:"tokens"`
	}
	err := c.Do(ctx, "GET", "/api/v1/tokens?org="+url.QueryEscape(org), nil, &out)
	return out.Tokens, err
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(id), nil, nil)
}

// Register uploads file as a new asset or version, streaming it as a multipart body.
// With req.ImportPath set, file is nil and the server reads the file in place.
func (c *Client) Register(ctx context.Context, req asset.Register, file io.Reader) (api.Registered, error) {
	var out api.Registered
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			meta, err := json.Marshal(req)
			if err != nil {
				return err
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="meta"`)
			h.Set("Content-Type", "application/json")
			p, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := p.Write(meta); err != nil {
				return err
			}
			if file != nil {
				fp, err := mw.CreateFormFile("file", req.FileName)
				if err != nil {
					return err
				}
				if _, err := io.Copy(fp, file); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	resp, err := c.request(ctx, "POST", "/api/v1/assets", pr, mw.FormDataContentType())
	pr.Close()
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

// Asset returns an asset with its latest version.
func (c *Client) Asset(ctx context.Context, id string) (api.AssetPage, error) {
	var out api.AssetPage
	err := c.Do(ctx, "GET", "/api/v1/assets/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Versions lists an asset's versions.
func (c *Client) Versions(ctx context.Context, id string) ([]asset.Version, error) {
	var out struct {
		Versions []asset.Version `json:"versions"`
	}
	err := c.Do(ctx, "GET", "/api/v1/assets/"+url.PathEscape(id)+"/versions", nil, &out)
	return out.Versions, err
}

// Search queries the catalog.
func (c *Client) Search(ctx context.Context, q catalog.Query) (catalog.Page, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", q.Text)
	set("industry", q.Industry)
	set("region", q.Region)
	set("provider", q.Provider)
	set("format", q.Format)
	set("cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.UpdatedSince.IsZero() {
		v.Set("updated_since", q.UpdatedSince.Format("2006-01-02T15:04:05Z07:00"))
	}
	var out catalog.Page
	err := c.Do(ctx, "GET", "/api/v1/catalog?"+v.Encode(), nil, &out)
	return out, err
}

// RequestAccess asks for access to an asset.
func (c *Client) RequestAccess(ctx context.Context, assetID, purpose string) (access.Grant, error) {
	var g access.Grant
	err := c.Do(ctx, "POST", "/api/v1/grants", map[string]string{"asset_id": assetID, "purpose": purpose}, &g)
	return g, err
}

// Decide approves, rejects or revokes a grant.
func (c *Client) Decide(ctx context.Context, grantID, status, reason string) (access.Grant, error) {
	var g access.Grant
	err := c.Do(ctx, "POST", "/api/v1/grants/"+url.PathEscape(grantID)+"/decision", map[string]string{"status": status, "reason": reason}, &g)
	return g, err
}

// Grants lists the caller's grants.
func (c *Client) Grants(ctx context.Context, status string) ([]access.Grant, error) {
	var out struct {
		Grants []access.Grant `json:"grants"`
	}
	err := c.Do(ctx, "GET", "/api/v1/grants?status="+url.QueryEscape(status), nil, &out)
	return out.Grants, err
}

// GetStream streams the answer of an authenticated GET of path to w (a data endpoint).
func (c *Client) GetStream(ctx context.Context, path string, w io.Writer) (n, total int64, err error) {
	resp, err := c.request(ctx, "GET", path, nil, "")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err = io.Copy(w, resp.Body)
	return n, resp.ContentLength, err
}

// Download streams version (0: latest) of an asset in format to w, resuming at offset
// (a Range request) when offset > 0. It returns the bytes written and the total size.
func (c *Client) Download(ctx context.Context, assetID string, version int, format string, offset int64, w io.Writer) (n, total int64, err error) {
	path := fmt.Sprintf("/api/v1/assets/%s/data?format=%s", url.PathEscape(assetID), url.QueryEscape(format))
	if version > 0 {
		path += "&version=" + strconv.Itoa(version)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, 0, dx.Wrap(err, dx.EInternal, "无法连接 dx 服务 / cannot reach the dx server")
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return 0, 0, decodeError(resp)
	}
	total = resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		total += offset
	}
	n, err = io.Copy(w, resp.Body)
	return n, total, err
}

// CreateOffer makes an offer on an asset with a policy in the compact DSP form.
func (c *Client) CreateOffer(ctx context.Context, assetID string, pol json.RawMessage, autoApprove bool) (api.OfferView, error) {
	var out api.OfferView
	err := c.Do(ctx, "POST", "/api/v1/assets/"+url.PathEscape(assetID)+"/offers", map[string]any{"policy": pol, "auto_approve": autoApprove}, &out)
	return out, err
}

// Offers lists an asset's offers.
func (c *Client) Offers(ctx context.Context, assetID string) ([]api.OfferView, error) {
	var out struct {
		Offers []api.OfferView `json:"offers"`
	}
	err := c.Do(ctx, "GET", "/api/v1/assets/"+url.PathEscape(assetID)+"/offers", nil, &out)
	return out.Offers, err
}

// RequestContract starts a negotiation for an offer; terms (nil for the offer as is)
// must equal or narrow it.
func (c *Client) RequestContract(ctx context.Context, offerID string, terms json.RawMessage, consumerPID string) (api.NegotiationView, error) {
	var out api.NegotiationView
	body := map[string]any{"offer_id": offerID}
	if len(terms) > 0 {
		body["terms"] = terms
	}
	if consumerPID != "" {
		body["consumer_pid"] = consumerPID
	}
	err := c.Do(ctx, "POST", "/api/v1/negotiations", body, &out)
	return out, err
}

// Negotiations lists the caller's negotiations.
func (c *Client) Negotiations(ctx context.Context) ([]api.NegotiationView, error) {
	var out struct {
		Negotiations []api.NegotiationView `json:"negotiations"`
	}
	err := c.Do(ctx, "GET", "/api/v1/negotiations", nil, &out)
	return out.Negotiations, err
}

// NegotiationAction approves ("approve") or terminates ("terminate", with reason) a negotiation.
func (c *Client) NegotiationAction(ctx context.Context, id, action, reason string) (api.NegotiationView, error) {
	var out api.NegotiationView
	var body any
	if action == "terminate" {
		body = map[string]string{"reason": reason}
	}
	err := c.Do(ctx, "POST", "/api/v1/negotiations/"+url.PathEscape(id)+"/"+action, body, &out)
	return out, err
}

// Agreements lists the caller's agreements.
func (c *Client) Agreements(ctx context.Context) ([]api.AgreementView, error) {
	var out struct {
		Agreements []api.AgreementView `json:"agreements"`
	}
	err := c.Do(ctx, "GET", "/api/v1/agreements", nil, &out)
	return out.Agreements, err
}

// AgreementDocument returns the signed agreement document as JSON.
func (c *Client) AgreementDocument(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, "GET", "/api/v1/agreements/"+url.PathEscape(id)+"/document", nil, &out)
	return out, err
}

// RevokeAgreement revokes an agreement (provider).
func (c *Client) RevokeAgreement(ctx context.Context, id, reason string) error {
	return c.Do(ctx, "POST", "/api/v1/agreements/"+url.PathEscape(id)+"/revoke", map[string]string{"reason": reason}, nil)
}

// RequestTransfer starts a pull transfer under an agreement.
func (c *Client) RequestTransfer(ctx context.Context, agreementID, purpose, consumerPID string) (api.TransferView, error) {
	var out api.TransferView
	err := c.Do(ctx, "POST", "/api/v1/transfers", map[string]string{"agreement_id": agreementID, "purpose": purpose, "consumer_pid": consumerPID}, &out)
	return out, err
}

// ChangeTransfer suspends, resumes, completes or terminates a transfer.
func (c *Client) ChangeTransfer(ctx context.Context, id, action, reason string) (api.TransferView, error) {
	var out api.TransferView
	err := c.Do(ctx, "POST", "/api/v1/transfers/"+url.PathEscape(id)+"/"+url.PathEscape(action), map[string]string{"reason": reason}, &out)
	return out, err
}

// Pull fetches a started transfer's data from its data address (endpoint relative to
// the server, token from the address) into w.
func (c *Client) Pull(ctx context.Context, addr contract.DataAddress, format string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+addr.Endpoint+"?format="+url.QueryEscape(format), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+addr.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, dx.Wrap(err, dx.EInternal, "无法连接 dx 服务 / cannot reach the dx server")
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return 0, decodeError(resp)
	}
	return io.Copy(w, resp.Body)
}
