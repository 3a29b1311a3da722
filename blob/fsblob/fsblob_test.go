package fsblob

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxexchange/dx"
)

func TestPutOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string) string {
		f, err := s.Temp("x-*")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
		d, n, err := s.Put(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(content)) {
			t.Fatalf("size %d, want %d", n, len(content))
		}
		sum := sha256.Sum256([]byte(content))
		if d != hex.EncodeToString(sum[:]) {
			t.Fatalf("digest %s is not the SHA-256 of the content", d)
		}
		if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
			t.Fatalf("scratch file still there after Put: %v", err)
		}
		return d
	}
	d1 := put("hello")
	d2 := put("hello") // idempotent
	if d1 != d2 {
		t.Fatal("same content, different digests")
	}
	b, err := s.Open(d1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "hello" || b.Size() != 5 {
		t.Fatalf("read %q size %d", got, b.Size())
	}
	for _, bad := range []string{"../../etc/passwd", "", d1[:63] + "g", "00" + d1[2:]} {
		if _, err := s.Open(bad); dx.ErrorCode(err) != dx.ENotFound {
			t.Errorf("Open(%q): %v, want not_found", bad, err)
		}
		if _, err := s.Path(bad); dx.ErrorCode(err) != dx.ENotFound {
			t.Errorf("Path(%q): %v, want not_found", bad, err)
		}
	}
}

func TestOpenRemovesScratch(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	f, _ := s.Temp("partial-*")
	f.WriteString("half a file")
	f.Close()
	fresh, _ := s.Temp("other-process-*")
	fresh.Close()
	old := time.Now().Add(-2 * staleScratch)
	os.Chtimes(f.Name(), old, old)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(left) != 1 || left[0].Name() != filepath.Base(fresh.Name()) {
		t.Fatalf("after reopen scratch holds %v, want only the fresh file", left)
	}
}
