package outbox_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/outbox"
	"github.com/dxexchange/dx/store/postgres"
	"github.com/dxexchange/dx/store/sqlite"
)

// recorder is a delivery function that fails while failing is set.
type recorder struct {
	mu      sync.Mutex
	failing error
	got     []string
	final   []string // outcomes told to Done
}

func (r *recorder) done(ctx context.Context, m outbox.Message, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	outcome := "sent"
	if err != nil {
		outcome = "given up: " + err.Error()
	}
	r.final = append(r.final, m.URL+" "+outcome)
	return nil
}

func (r *recorder) send(ctx context.Context, url string, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing != nil {
		return r.failing
	}
	r.got = append(r.got, url+" "+string(body))
	return nil
}

func (r *recorder) delivered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

// TestSurvivesAnUnreachablePeerAndARestart: a message posted while the peer is down is
// kept, and delivered by the next worker once the peer answers; a refusal is not retried.
func TestSurvivesAnUnreachablePeerAndARestart(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dx.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testRestart(t, st)
	})
	if base := os.Getenv("DX_TEST_POSTGRES"); base != "" {
		t.Run("postgres", func(t *testing.T) {
			admin, err := sql.Open("pgx", base)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			name := "dxo_" + strings.ToLower(dx.NewID("x", time.Now())[2:])
			if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
				t.Fatal(err)
			}
			defer admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			u, _ := url.Parse(base)
			u.Path = "/" + name
			st, err := postgres.Open(context.Background(), u.String(), true)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			testRestart(t, st)
		})
	}
}

func testRestart(t *testing.T, st outbox.Store) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := &recorder{failing: dx.Errorf(dx.EInternal, "connection refused")}
	o := outbox.Start(st, down.send, nil, dx.SystemClock{}, log)
	if err := o.Post(context.Background(), "http://peer/a", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the first attempt fails
	o.Close()                          // "restart"

	up := &recorder{}
	o2 := outbox.Start(st, up.send, up.done, dx.SystemClock{}, log)
	defer o2.Close()
	waitFor(t, func() bool { return len(up.delivered()) == 1 })
	if got := up.delivered()[0]; got != `http://peer/a {"n":1}` {
		t.Fatalf("delivered %q", got)
	}
	// Delivered once only, even after more worker rounds.
	time.Sleep(1200 * time.Millisecond)
	if n := len(up.delivered()); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	// A refusal (not EInternal) is given up at once.
	up.mu.Lock()
	up.failing = dx.Errorf(dx.EInvalid, "400 invalid-transition")
	up.mu.Unlock()
	o2.Post(context.Background(), "http://peer/b", []byte(`{}`))
	time.Sleep(300 * time.Millisecond)
	up.mu.Lock()
	up.failing = nil
	up.mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	if n := len(up.delivered()); n != 1 {
		t.Fatalf("a refused message was retried: %v", up.delivered())
	}
	// Done heard each final outcome once; the failed first attempt was not final.
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.final) != 2 || up.final[0] != "http://peer/a sent" || !strings.HasPrefix(up.final[1], "http://peer/b given up: ") {
		t.Fatalf("outcomes: %q", up.final)
	}
}
