package api

import (
	"net/http"

	"github.com/dxexchange/dx"
)

func (a *API) computeRoutes() []Route {
	if a.Compute == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/assets/{id}/compute", Summary: "An asset's compute settings: its privacy unit column and the cap on groups per unit", Auth: true, Response: "json", handler: a.getComputeSettings},
		{Method: "PUT", Path: "/api/v1/assets/{id}/compute", Summary: "Open an asset to differentially private queries (provider): {unit_column ('' for one row per person), max_groups, snapshot_rows (0: none; k: queries run on a snapshot of ≤ k rows per unit)}", Auth: true, Body: "json", Response: "json", handler: a.putComputeSettings},
		{Method: "POST", Path: "/api/v1/assets/{id}/query", Summary: "Run a differentially private query (SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(…)): {sql, purpose}; only noisy aggregates leave, charged to the agreement's privacy budget", Auth: true, Body: "json", Response: "json", handler: a.query},
		{Method: "GET", Path: "/api/v1/agreements/{id}/budget", Summary: "An agreement's privacy budget: spent, reserved and its limits", Auth: true, Response: "json", handler: a.budget},
	}
}

func (a *API) getComputeSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Compute.Settings(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, st)
	return nil
}

func (a *API) putComputeSettings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		UnitColumn   string `json:"unit_column"`
		MaxGroups    int    `json:"max_groups"`
		SnapshotRows int    `json:"snapshot_rows"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	st, err := a.Compute.Configure(r.Context(), r.PathValue("id"), req.UnitColumn, req.MaxGroups, req.SnapshotRows)
	if err != nil {
		return err
	}
	writeJSON(w, 200, st)
	return nil
}

func (a *API) query(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		SQL     string `json:"sql"`
		Purpose string `json:"purpose"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.SQL == "" {
		return dx.Errorf(dx.EInvalid, "缺少 sql / sql is required")
	}
	ans, err := a.Compute.Query(r.Context(), r.PathValue("id"), req.SQL, req.Purpose)
	if err != nil {
		return err
	}
	writeJSON(w, 200, ans)
	return nil
}

func (a *API) budget(w http.ResponseWriter, r *http.Request) error {
	led, lim, err := a.Compute.Budget(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"ledger": led, "limits": lim})
	return nil
}
