package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dxexchange/dx/store"
	"github.com/dxexchange/dx/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "dx.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEventsAreAppendOnly(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "dx.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.SQL()
	if _, err := db.Exec(`INSERT INTO events (id, time, actor, token_id, action, subject, payload) VALUES ('e', 0, 'a', '', 'x', 's', '{}')`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE events SET action = 'y'`, `DELETE FROM events`} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: succeeded on the append-only events table", q)
		}
	}
}
