package sourcefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSpool(t *testing.T) {
	// A multi-byte character straddles the 1 MiB chunk boundary in the first case.
	valid := strings.Repeat("a", spoolChunk-1) + "杭州" + strings.Repeat("数据", 1000)
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"split rune", valid, true},
		{"ascii", "a,b\n1,2\n", true},
		{"gbk", "\xba\xbc\xd6\xdd", false},
		{"truncated rune at end", "abc\xe6\x9d", false},
		{"bad continuation across chunks", strings.Repeat("a", spoolChunk-1) + "\xe6" + "xx", false},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s := NewSpool(&out, true)
			if _, err := s.ReadFrom(iotest.HalfReader(strings.NewReader(tt.in))); err != nil {
				t.Fatal(err)
			}
			n, digest, ok := s.Finish()
			sum := sha256.Sum256([]byte(tt.in))
			if n != int64(len(tt.in)) || digest != hex.EncodeToString(sum[:]) || ok != tt.valid || out.String() != tt.in {
				t.Fatalf("n=%d digest ok=%v valid=%v (want %v) copy ok=%v", n, digest == hex.EncodeToString(sum[:]), ok, tt.valid, out.String() == tt.in)
			}
		})
	}
}
