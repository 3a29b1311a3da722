package asset

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/sourcefile"
)

// ingest turns an uploaded body, or a file in the import directory, into a stored
// Parquet blob and the version that describes it (not yet recorded).
func (s *Service) ingest(ctx context.Context, req Register, body io.Reader) (Version, error) {
	if req.ImportPath != "" {
		return s.ingestInPlace(ctx, req)
	}
	if body == nil {
		return Version{}, dx.Errorf(dx.EInvalid, "没有文件内容 / no file was sent")
	}
	start := s.Clock.Now()
	src, err := s.Blobs.Temp("upload-*")
	if err != nil {
		return Version{}, err
	}
	defer os.Remove(src.Name())
	limit := s.limit()
	// One pass copies the upload while another goroutine hashes it and checks its UTF-8.
	spool := sourcefile.NewSpool(src, true)
	_, err = spool.ReadFrom(io.LimitReader(body, limit+1))
	n, digest, isUTF8 := spool.Finish()
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var de *dx.Error
		if errors.As(err, &de) {
			return Version{}, err
		}
		return Version{}, dx.Wrap(err, dx.EInvalid, "上传中断 / the upload was interrupted")
	}
	if n > limit {
		return Version{}, tooLarge(limit)
	}
	s.lap("spool", &start)
	v, err := s.convert(ctx, req, src.Name(), &isUTF8)
	v.SourceSize, v.SourceDigest = n, digest
	return v, err
}

func (s *Service) limit() int64 {
	if s.MaxSize <= 0 {
		return 1 << 62
	}
	return s.MaxSize
}

func tooLarge(limit int64) error {
	return dx.Errorf(dx.ETooLarge, "文件超过大小上限 %d 字节 / the file is over the size limit of %d bytes", limit, limit)
}

// lap logs how long an ingestion phase took.
func (s *Service) lap(phase string, since *time.Time) {
	now := s.Clock.Now()
	s.Log.Debug("ingest phase", "phase", phase, "ms", now.Sub(*since).Milliseconds())
	*since = now
}

// importPath resolves name inside the import directory, refusing anything that leads
// outside it (.., absolute paths elsewhere, symbolic links out).
func (s *Service) importPath(name string) (string, error) {
	if s.ImportDir == "" {
		return "", dx.Errorf(dx.EForbidden, "本交易所未开放按路径登记 / this exchange has no import directory for in-place registration")
	}
	root, err := filepath.EvalSymlinks(s.ImportDir)
	if err != nil {
		return "", err
	}
	root, _ = filepath.Abs(root)
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", dx.Errorf(dx.ENotFound, "导入目录中没有文件 %q / no file %q in the import directory", name, name)
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", dx.Errorf(dx.EForbidden, "路径 %q 不在导入目录内 / %q is outside the import directory", name, name)
	}
	st, err := os.Stat(resolved)
	if err != nil || !st.Mode().IsRegular() {
		return "", dx.Errorf(dx.ENotFound, "导入目录中没有文件 %q / no file %q in the import directory", name, name)
	}
	return resolved, nil
}

// ingestInPlace reads a file in the import directory without copying it: the engine
// converts it while another goroutine hashes it. Conversion assumes UTF-8 (the engine
// validates it as it reads); if the engine finds the file is not UTF-8, it converts again
// from GB18030.
func (s *Service) ingestInPlace(ctx context.Context, req Register) (Version, error) {
	path, err := s.importPath(req.ImportPath)
	if err != nil {
		return Version{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return Version{}, err
	}
	if st.Size() > s.limit() {
		return Version{}, tooLarge(s.limit())
	}
	if req.FileName == "" {
		req.FileName = filepath.Base(path)
	}
	type check struct {
		n      int64
		digest string
		err    error
	}
	checked := make(chan check, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			checked <- check{err: err}
			return
		}
		defer f.Close()
		sp := sourcefile.NewSpool(io.Discard, false)
		_, err = sp.ReadFrom(f)
		n, d, _ := sp.Finish()
		checked <- check{n, d, err}
	}()
	guess := true
	v, err := s.convert(ctx, req, path, &guess)
	c := <-checked
	if c.err != nil {
		return Version{}, c.err
	}
	if errors.Is(err, engine.ErrNotUTF8) {
		s.Log.Info("file is not UTF-8; converting from GB18030", "file", req.FileName)
		notUTF8 := false
		v, err = s.convert(ctx, req, path, &notUTF8)
	}
	v.SourceSize, v.SourceDigest = c.n, c.digest
	return v, err
}

// convert prepares the source file at path, converts it to Parquet, describes it and
// stores the Parquet blob.
func (s *Service) convert(ctx context.Context, req Register, path string, isUTF8 *bool) (v Version, err error) {
	start := s.Clock.Now()
	newScratch := func() (*os.File, error) { return s.Blobs.Temp("utf8-*") }
	prep, err := sourcefile.Prepare(path, req.FileName, req.Format, isUTF8, newScratch)
	if err != nil {
		return v, err
	}
	if prep.Path != path {
		defer os.Remove(prep.Path)
	}
	v.SourceName, v.SourceFormat, v.SourceEncoding, v.Warnings = req.FileName, prep.Format, prep.Encoding, prep.Warnings
	s.lap("prepare", &start)
	dst, err := s.Blobs.Temp("parquet-*")
	if err != nil {
		return v, err
	}
	dst.Close()
	os.Remove(dst.Name()) // the engine creates it
	defer os.Remove(dst.Name())
	desc, err := s.Engine.Ingest(ctx, engine.Source{Path: prep.Path, Format: prep.Format, Columns: prep.Columns}, dst.Name(), SampleRows)
	if err != nil {
		return v, err
	}
	v.RowCount, v.Columns, v.Sample = desc.RowCount, desc.Columns, desc.Sample
	s.lap("engine", &start)
	if err := s.classifyFile(ctx, dst.Name(), &v, s.now()); err != nil {
		return v, err
	}
	s.lap("classify", &start)
	if v.Digest, v.Size, err = s.Blobs.Put(dst.Name()); err != nil {
		return v, err
	}
	s.lap("store blob", &start)
	return v, nil
}
