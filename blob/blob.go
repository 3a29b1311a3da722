// Package blob defines where dx keeps data files: a content-addressed store keyed by the
// SHA-256 of each file's bytes. A file is first written to a temporary file in the
// store's own scratch area and then committed with Put, which makes it durable and
// visible under its digest in one step, so a crash never leaves a half-written blob.
//
// fsblob implements it on a local directory; S3-compatible object storage is the
// planned second implementation, for deployments with several nodes.
package blob

import (
	"io"
	"os"
	"time"
)

// File is an open blob.
type File interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Store keeps immutable blobs by digest.
type Store interface {
	// Temp creates a new empty scratch file; the caller writes it and then either Puts or
	// removes it. Scratch files left by a crash are removed when the store opens.
	Temp(pattern string) (*os.File, error)
	// Put moves the scratch file at path into the store (fsync, then rename) and returns
	// its lowercase hex SHA-256 digest and size. Putting bytes already stored is fine.
	Put(path string) (digest string, size int64, err error)
	// Open opens a stored blob; an ENotFound error if there is none.
	Open(digest string) (File, error)
	// Path returns a local path at which the engine can read the blob.
	Path(digest string) (string, error)
}
