// Package fsblob stores blobs as files in a local directory: <dir>/sha256/ab/cdef…, with
// scratch files in <dir>/tmp. Writes go to the scratch area, are fsynced and renamed into
// place, and the parent directory is fsynced, so a blob either exists whole or not at all.
package fsblob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/blob"
)

// Store is a blob.Store on a local directory.
type Store struct {
	dir string
}

var _ blob.Store = (*Store)(nil)

// staleScratch is how long a scratch file must have gone unmodified before Open removes
// it. Several processes may share one directory, so a fresh file may be another's work.
const staleScratch = time.Hour

// Open opens (creating if needed) the store in dir and removes scratch files that a crash
// left (those unmodified for an hour).
func Open(dir string) (*Store, error) {
	for _, d := range []string{filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("fsblob: %w", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleScratch {
			os.RemoveAll(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	return &Store{dir: dir}, nil
}

// Temp creates a scratch file.
func (s *Store) Temp(pattern string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(s.dir, "tmp"), pattern)
}

// TempDir returns the scratch directory, for engines that need scratch space of their own.
func (s *Store) TempDir() string { return filepath.Join(s.dir, "tmp") }

func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	_, err := hex.DecodeString(d)
	return err == nil
}

func (s *Store) path(digest string) string {
	return filepath.Join(s.dir, "sha256", digest[:2], digest[2:])
}

// Put hashes the scratch file, fsyncs it and renames it to its content address.
func (s *Store) Put(path string) (digest string, size int64, err error) {
	defer dx.WrapOp(&err, "fsblob.Put")
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return "", 0, err
	}
	digest = hex.EncodeToString(h.Sum(nil))
	dst := s.path(digest)
	if _, err := os.Stat(dst); err == nil {
		os.Remove(path) // same bytes already stored
		return digest, size, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(path, 0o440); err != nil {
		return "", 0, err
	}
	if err := os.Rename(path, dst); err != nil {
		return "", 0, err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return digest, size, nil
}

type file struct {
	*os.File
	size int64
	mod  time.Time
}

func (f file) Size() int64        { return f.size }
func (f file) ModTime() time.Time { return f.mod }

// Open opens a blob for reading.
func (s *Store) Open(digest string) (blob.File, error) {
	if !validDigest(digest) {
		return nil, dx.Errorf(dx.ENotFound, "数据文件不存在 / blob not found")
	}
	f, err := os.Open(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, dx.Wrap(err, dx.ENotFound, "数据文件不存在 / blob not found")
	} else if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return file{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Path returns the blob's file path, or ENotFound.
func (s *Store) Path(digest string) (string, error) {
	if !validDigest(digest) {
		return "", dx.Errorf(dx.ENotFound, "数据文件不存在 / blob not found")
	}
	p := s.path(digest)
	if _, err := os.Stat(p); err != nil {
		return "", dx.Wrap(err, dx.ENotFound, "数据文件不存在 / blob not found")
	}
	return p, nil
}
