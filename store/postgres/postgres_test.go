package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/store"
	"github.com/dxexchange/dx/store/storetest"
)

// freshDB creates a new schema-less database for one test and returns its DSN. The
// tests run only when DX_TEST_POSTGRES names a database (CI sets it).
func freshDB(t *testing.T) string {
	base := os.Getenv("DX_TEST_POSTGRES")
	if base == "" {
		t.Skip("DX_TEST_POSTGRES is not set; skipping PostgreSQL tests")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "dxt_" + dx.NewID("db", dx.SystemClock{}.Now())[3:]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, _ := sql.Open("pgx", base)
		a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		a.Close()
	})
	return replaceDB(base, name)
}

// replaceDB returns dsn (a URL or key=value string) pointing at database name.
func replaceDB(dsn, name string) string {
	if len(dsn) > 11 && (dsn[:11] == "postgres://" || dsn[:13] == "postgresql:/") {
		u := dsn
		if i := indexAfterHost(u); i >= 0 {
			rest := ""
			if q := indexByte(u[i:], '?'); q >= 0 {
				rest = u[i+q:]
			}
			return u[:i] + "/" + name + rest
		}
	}
	return fmt.Sprintf("%s dbname=%s", dsn, name)
}

func indexAfterHost(u string) int {
	start := indexByte(u, ':') + 3
	if j := indexByte(u[start:], '/'); j >= 0 {
		return start + j
	}
	return len(u)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), freshDB(t), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
