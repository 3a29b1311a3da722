// Package archtest enforces dx's import rules (docs/architecture.md) with `go list`, so
// nobody has to remember them: the vocabulary package imports only the standard
// library, domain packages stay free of SQL, HTTP, drivers and DuckDB, adapters never
// import each other, transports never import an adapter, only engine/duckdb links DuckDB,
// no package has a junk-drawer name, production code (all but the *test support packages) never imports testing, and every
// package has a doc comment.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/dxexchange/dx"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

var domain = map[string]bool{"crossborder": true, "party": true, "asset": true, "access": true, "catalog": true, "audit": true,
	"classify": true, "policy": true, "contract": true, "compute": true, "ledger": true, "market": true}

var adapters = map[string]bool{"store/sqlite": true, "store/postgres": true, "store/sqldb": true, "engine/duckdb": true, "blob/fsblob": true}

var transports = map[string]bool{"api": true, "server": true, "dsp": true, "web": true, "transparency": true}

func isStd(path string) bool { return !strings.Contains(strings.Split(path, "/")[0], ".") }

func TestImportRules(t *testing.T) {
	for _, p := range list(t) {
		r := rel(p.ImportPath)
		for _, imp := range p.Imports {
			ri := rel(imp)
			switch {
			case r == "." && !isStd(imp):
				t.Errorf("%s imports %s: the dx vocabulary package imports only the standard library", r, imp)
			case domain[r] && (imp == "database/sql" || imp == "net/http" || imp == "log" || strings.Contains(imp, "duckdb") ||
				strings.Contains(imp, "sqlite") || strings.Contains(imp, "pgx") || adapters[ri] || transports[ri] || strings.HasPrefix(ri, "store")):
				t.Errorf("domain package %s imports %s", r, imp)
			case adapters[r] && adapters[ri] && !(r != "store/sqldb" && ri == "store/sqldb"):
				t.Errorf("adapter %s imports adapter %s (only the shared store/sqldb base is allowed)", r, imp)
			case transports[r] && adapters[ri]:
				t.Errorf("transport %s imports adapter %s", r, imp)
			case (imp == "testing" || strings.HasPrefix(imp, "testing/")) && !strings.HasSuffix(p.Name, "test"):
				t.Errorf("%s imports %s in production code", r, imp)
			}
		}
		if r != "engine/duckdb" {
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, "github.com/duckdb/") && p.Name != "main" {
					t.Errorf("%s links DuckDB (via %s): only engine/duckdb and programs (cmd/dx, bench/*) may", r, dep)
					break
				}
			}
		}
		if domain[r] {
			for _, dep := range p.Deps {
				if dep == "database/sql" || dep == "net/http" {
					t.Errorf("domain package %s depends on %s", r, dep)
				}
			}
		}
		switch p.Name {
		case "util", "utils", "common", "models", "types", "helpers", "misc":
			t.Errorf("package %s has a junk-drawer name", r)
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range list(t) {
		if len(p.GoFiles) > 0 && strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", rel(p.ImportPath))
		}
	}
}

func TestDomainNeverReadsEnvironment(t *testing.T) {
	cmd := exec.Command("grep", "-rlE", `os\.(Getenv|LookupEnv)|slog\.SetDefault|flag\.Parse`, "--include=*.go", "--exclude=*_test.go", ".")
	cmd.Dir = "../.."
	out, _ := cmd.Output()
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "./cmd/dx/") && !strings.HasPrefix(f, "./bench/") {
			t.Errorf("%s reads flags or environment or sets the default logger: only cmd/dx (and benchmark programs) may", f)
		}
	}
}
