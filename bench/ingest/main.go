// Command ingest times one ingestion of a CSV file, either by DuckDB alone (read_csv to
// Parquet with DuckDB's defaults) or by dx's whole registration pipeline (spool and hash,
// encoding check, header cleaning, DuckDB conversion, statistics, blob commit, SQLite
// transaction). bench/ingest.sh runs both side by side under /usr/bin/time for peak RSS.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/blob/fsblob"
	"github.com/dxexchange/dx/engine/duckdb"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/store/sqlite"
)

func main() {
	mode := flag.String("mode", "dx", "dx (in place, from the import directory), dx-upload (the upload path) or duckdb")
	file := flag.String("file", "", "CSV file")
	threads := flag.Int("threads", 2, "DuckDB threads")
	memory := flag.String("memory", "1GB", "DuckDB memory limit")
	verbose := flag.Bool("v", false, "log the ingestion phases")
	flag.Parse()
	dir, err := os.MkdirTemp("", "dx-bench-")
	check(err)
	defer os.RemoveAll(dir)
	ctx := context.Background()
	start := time.Now()
	switch *mode {
	case "duckdb":
		db, err := sql.Open("duckdb", "")
		check(err)
		_, err = db.Exec(fmt.Sprintf("SET threads = %d; SET memory_limit = '%s'", *threads, *memory))
		check(err)
		_, err = db.Exec(fmt.Sprintf("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet)", *file, filepath.Join(dir, "out.parquet")))
		check(err)
	case "dx", "dx-upload":
		st, err := sqlite.Open(ctx, filepath.Join(dir, "dx.db"), true)
		check(err)
		blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
		check(err)
		eng, err := duckdb.Open(duckdb.Config{Threads: *threads, MemoryLimit: *memory, TempDir: filepath.Join(dir, "duck")})
		check(err)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if *verbose {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		parties := &party.Service{Store: st, Clock: dx.SystemClock{}, Log: log}
		op, _, _, err := parties.Bootstrap(ctx, "operator")
		check(err)
		opCtx := dx.WithPrincipal(ctx, dx.Principal{OrgID: op.ID, Roles: op.Roles, Scopes: []string{"read", "write", "admin"}})
		prov, _, err := parties.CreateOrg(opCtx, party.NewOrg{Name: "p", Roles: []string{"provider"}})
		check(err)
		pctx := dx.WithPrincipal(ctx, dx.Principal{OrgID: prov.ID, Roles: prov.Roles, Scopes: []string{"read", "write"}})
		svc := &asset.Service{Store: st, Blobs: blobs, Engine: eng, Clock: dx.SystemClock{}, Log: log, ImportDir: filepath.Dir(*file)}
		req := asset.Register{Name: "bench", FileName: filepath.Base(*file), Meta: asset.Meta{Title: asset.Text{En: "bench"}, Industry: "A"}}
		var body io.Reader
		if *mode == "dx" {
			req.ImportPath = filepath.Base(*file)
		} else {
			f, err := os.Open(*file)
			check(err)
			body = f
		}
		start = time.Now()
		_, v, err := svc.Register(pctx, req, body)
		check(err)
		fmt.Fprintf(os.Stderr, "rows=%d columns=%d parquet=%d bytes\n", v.RowCount, len(v.Columns), v.Size)
	default:
		check(fmt.Errorf("unknown mode %q", *mode))
	}
	fmt.Printf("%s %.3f s\n", *mode, time.Since(start).Seconds())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
