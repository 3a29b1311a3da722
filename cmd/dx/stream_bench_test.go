package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dxexchange/dx/asset"
)

// BenchmarkStreamGrantedFile measures a consumer's download of a granted CSV rendition
// of about 1 GB over loopback, through the real server and client (the rendition is made
// by a warm-up download first). Run: go test -run '^$' -bench StreamGranted ./cmd/dx
func BenchmarkStreamGrantedFile(b *testing.B) {
	imports := b.TempDir()
	path := filepath.Join(imports, "big.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,region,label,amount,note\n")
	var line []byte
	for i := 0; i < 11_000_000; i++ {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ",330106,杭州市西湖区数据样例,"...)
		line = strconv.AppendInt(line, int64(i*37%100000), 10)
		line = append(line, ",some text to pad the row out a bit\n"...)
		w.Write(line)
	}
	w.Flush()
	f.Close()
	te := startExchange(b, func(c *Config) { c.ImportDir = imports; c.EngineMemory = "1GB" })
	prov, _ := te.org(b, "p", "provider")
	cons, _ := te.org(b, "c", "consumer")
	ctx := context.Background()
	res, err := prov.Register(ctx, asset.Register{Name: "big", ImportPath: "big.csv", Meta: asset.Meta{Title: asset.Text{En: "big"}, Industry: "A"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	g, err := cons.RequestAccess(ctx, res.Asset.ID, "benchmark")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := prov.Decide(ctx, g.ID, "approved", ""); err != nil {
		b.Fatal(err)
	}
	n, _, err := cons.Download(ctx, res.Asset.ID, 0, "csv", 0, io.Discard) // makes the rendition
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rendition: %d bytes\n", n)
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		if _, _, err := cons.Download(ctx, res.Asset.ID, 0, "csv", 0, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
