package dsp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dxexchange/dx"
)

// Client sends signed DSP requests to peers on behalf of this node.
type Client struct {
	ParticipantID string
	Key           ed25519.PrivateKey
	HTTP          *http.Client
	Clock         dx.Clock
}

// Do sends a signed request to peer at path (under its DSP base) and decodes a 2xx JSON
// answer into out. A DSP error body becomes a *dx.Error with the peer's code.
func (c *Client) Do(ctx context.Context, peer Peer, method, path string, in, out any) error {
	return c.DoURL(ctx, method, strings.TrimRight(peer.URL, "/")+BasePath+path, in, out)
}

// DoURL sends a signed request to a full URL (a callback address).
func (c *Client) DoURL(ctx context.Context, method, url string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	Sign(req, c.ParticipantID, c.Key, body, c.Clock.Now())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return dx.Wrap(err, dx.EInternal, fmt.Sprintf("无法连接对端 %s / cannot reach peer %s", url, url))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Code   string `json:"code"`
			Reason []any  `json:"reason"`
		}
		json.Unmarshal(raw, &e)
		code := map[int]string{400: dx.EInvalid, 401: dx.EUnauthorized, 403: dx.EForbidden, 404: dx.ENotFound, 409: dx.EConflict}[resp.StatusCode]
		if code == "" {
			code = dx.EInternal
		}
		return &dx.Error{Code: code, Details: map[string]any{"code": e.Code, "url": url},
			Message: fmt.Sprintf("对端拒绝 / the peer answered %d %s: %v", resp.StatusCode, e.Code, e.Reason)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Catalog fetches a peer's catalog (the first page).
func (c *Client) Catalog(ctx context.Context, peer Peer) (map[string]any, error) {
	var cat map[string]any
	err := c.Do(ctx, peer, "POST", "/catalog/request", map[string]any{"@context": []string{Context}, "@type": "CatalogRequestMessage"}, &cat)
	return cat, err
}
