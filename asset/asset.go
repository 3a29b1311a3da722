// Package asset owns data assets: their metadata, their versions (each an immutable
// Parquet file made by the engine from an uploaded CSV, TSV, JSON, NDJSON or Parquet
// file), the three rights of 数据二十条 and lineage to parent assets.
//
// Registering the same name again makes version n+1; old versions stay readable. A
// version exists only once its Parquet blob is durable and its row, the asset's search
// document and the audit event are committed in one transaction, so a failure or a kill
// during ingestion leaves no half asset.
package asset

import (
	"context"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/engine"
)

// Rights records the three rights of 数据二十条 over an asset.
type Rights struct {
	Holder          string   `json:"holder"`           // 数据资源持有权: holds the data resource
	ProcessingUse   []string `json:"processing_use"`   // 数据加工使用权: may process and use it
	ProductOperator string   `json:"product_operator"` // 数据产品经营权: may operate it as a product
}

// Parent is a lineage edge: the asset was derived from Parent by Transformation.
type Parent struct {
	AssetID        string `json:"asset_id"`
	Transformation string `json:"transformation"` // e.g. join, aggregate, clean, model
}

// Asset is a registered dataset.
type Asset struct {
	ID            string    `json:"id"`
	OwnerID       string    `json:"owner_id"`
	Name          string    `json:"name"` // unique per owner; registering it again adds a version
	Meta          Meta      `json:"meta"`
	Rights        Rights    `json:"rights"`
	Lineage       []Parent  `json:"lineage"`
	Format        string    `json:"format"` // source format of the latest version
	LatestVersion int       `json:"latest_version"`
	Grade         int       `json:"grade"` // level in force of the latest version (GB/T 43697 1–4; 0: not classified)
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Version is one immutable version of an asset's data.
type Version struct {
	ID             string          `json:"id"`
	AssetID        string          `json:"asset_id"`
	Number         int             `json:"number"`
	SourceName     string          `json:"source_name"`
	SourceFormat   string          `json:"source_format"`
	SourceEncoding string          `json:"source_encoding"`
	SourceDigest   string          `json:"source_sha256"`
	SourceSize     int64           `json:"source_size"`
	Digest         string          `json:"sha256"` // of the stored Parquet file
	Size           int64           `json:"size"`
	RowCount       int64           `json:"row_count"`
	Columns        []engine.Column `json:"columns"`
	Sample         [][]string      `json:"sample"` // masked where a column holds personal data
	Warnings       []string        `json:"warnings,omitempty"`
	// Classification is the grade proposed for this version (GB/T 43697, PIPL) with
	// each column's findings and reasons.
	Classification *classify.Proposal `json:"classification,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	CreatedBy      string             `json:"created_by"`
}

// Search is an asset's full-text document, as textsearch terms.
type Search struct {
	Title string // terms of the titles (ranked higher)
	Body  string // terms of descriptions, keywords, column names, source
}

// Store is the persistence port of this package. Each method is one transaction.
type Store interface {
	// CreateAsset inserts a new asset with its first version; EConflict if the owner
	// already has an asset of that name, EInvalid if a right holder or parent is unknown.
	CreateAsset(ctx context.Context, a Asset, v Version, s Search, events []dx.Event) error
	// AddVersion appends v (v.Number must be the asset's latest + 1, else EConflict) and
	// makes it the latest.
	AddVersion(ctx context.Context, v Version, s Search, events []dx.Event) error
	// UpdateAsset replaces an asset's metadata and rights.
	UpdateAsset(ctx context.Context, a Asset, s Search, events []dx.Event) error
	Asset(ctx context.Context, id string) (Asset, error)
	AssetByName(ctx context.Context, ownerID, name string) (Asset, error)
	Versions(ctx context.Context, assetID string) ([]Version, error)
	Version(ctx context.Context, assetID string, number int) (Version, error)
	// Rendition returns the digest of a stored export of a version in format, or ENotFound.
	Rendition(ctx context.Context, versionID, format string) (digest string, err error)
	// SaveRendition records a stored export (a cache entry; no audit event).
	SaveRendition(ctx context.Context, versionID, format, digest string) error
	GradeStore
}
