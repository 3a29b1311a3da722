package client

import (
	"context"
	"net/url"

	"github.com/dxexchange/dx/compute"
)

// Query runs a differentially private query on an asset.
func (c *Client) Query(ctx context.Context, assetID, sql, purpose string) (compute.Answer, error) {
	var a compute.Answer
	err := c.Do(ctx, "POST", "/api/v1/assets/"+url.PathEscape(assetID)+"/query", map[string]string{"sql": sql, "purpose": purpose}, &a)
	return a, err
}

// SetCompute opens an asset to DP queries with its privacy unit column.
func (c *Client) SetCompute(ctx context.Context, assetID string, st compute.Settings) (compute.Settings, error) {
	var s compute.Settings
	err := c.Do(ctx, "PUT", "/api/v1/assets/"+url.PathEscape(assetID)+"/compute", map[string]any{"unit_column": st.UnitColumn, "max_groups": st.MaxGroups, "snapshot_rows": st.SnapshotRows}, &s)
	return s, err
}

// ComputeSettings returns an asset's compute settings.
func (c *Client) ComputeSettings(ctx context.Context, assetID string) (compute.Settings, error) {
	var s compute.Settings
	err := c.Do(ctx, "GET", "/api/v1/assets/"+url.PathEscape(assetID)+"/compute", nil, &s)
	return s, err
}

// Budget returns an agreement's privacy budget ledger and limits.
func (c *Client) Budget(ctx context.Context, agreementID string) (compute.Ledger, compute.Limits, error) {
	var out struct {
		Ledger compute.Ledger `json:"ledger"`
		Limits compute.Limits `json:"limits"`
	}
	err := c.Do(ctx, "GET", "/api/v1/agreements/"+url.PathEscape(agreementID)+"/budget", nil, &out)
	return out.Ledger, out.Limits, err
}
