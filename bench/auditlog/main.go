// Command auditlog measures the Merkle audit log on SQLite: how fast events are written
// with their pending entries, how fast the sequencer integrates them (durable batches,
// each with its signed checkpoint and tiles), the latency from an event's commit to its
// integration under a steady load, and how long a full verification of the log from its
// tiles over HTTP takes.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/c2sp"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/store/sqlite"
	"github.com/dxexchange/dx/transparency"
)

func main() {
	n := flag.Int("n", 200000, "events to write and integrate")
	batch := flag.Int("batch", 1024, "entries per sequencing batch")
	rate := flag.Int("rate", 2000, "events per second offered in the latency phase")
	seconds := flag.Int("seconds", 10, "length of the latency phase")
	dir := flag.String("dir", "", "directory for the database (default: a temporary one)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "dx-auditlog-bench")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(*dir, "dx.db"), true)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	origin := "bench.example/audit"
	signer, _ := c2sp.LogSigner(origin, key)
	vkey := c2sp.VKey(origin, c2sp.TypeEd25519, pub)
	seq := &audit.Sequencer{Store: st, Origin: origin, Signer: signer, VKey: vkey, MaxBatch: *batch, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := seq.Load(ctx); err != nil {
		panic(err)
	}
	event := func(i int) dx.Event {
		return dx.NewEvent(time.Now(), dx.Principal{OrgID: "org_bench"}, "bench.use", fmt.Sprintf("agr_%08d", i%5000), map[string]any{"use": i, "channel": "download"})
	}

	// 1. Writing events (100 per transaction), each with its pending entry and salt.
	start := time.Now()
	for i := 0; i < *n; i += 100 {
		var evs []dx.Event
		for j := i; j < min(i+100, *n); j++ {
			evs = append(evs, event(j))
		}
		if err := st.RecordEvents(ctx, evs); err != nil {
			panic(err)
		}
	}
	w := time.Since(start)
	fmt.Printf("write:     %d events in %.2fs = %.0f events/s (100 per transaction)\n", *n, w.Seconds(), float64(*n)/w.Seconds())

	// 2. Integrating the backlog.
	start = time.Now()
	batches := 0
	for {
		k, err := seq.Step(ctx)
		if err != nil {
			panic(err)
		}
		if k == 0 {
			break
		}
		batches++
	}
	d := time.Since(start)
	fmt.Printf("integrate: %d entries in %d batches of ≤%d in %.2fs = %.0f entries/s (each batch one transaction: entries, hashes, tiles, bundles, signed checkpoint)\n",
		*n, batches, *batch, d.Seconds(), float64(*n)/d.Seconds())

	// 3. Commit → integrated under a steady load, with the sequencer running.
	runCtx, stop := context.WithCancel(ctx)
	go seq.Run(runCtx, time.Second)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(*rate/10)) // ten events per tick
	deadline := time.Now().Add(time.Duration(*seconds) * time.Second)
	i := *n
	for time.Now().Before(deadline) {
		<-tick.C
		var evs []dx.Event
		for range 10 {
			evs = append(evs, event(i))
			i++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.RecordEvents(ctx, evs); err != nil {
				panic(err)
			}
			committed := time.Now()
			ids := make([]string, len(evs))
			for k, e := range evs {
				ids[k] = e.ID
			}
			if _, err := seq.Await(ctx, ids); err != nil {
				panic(err)
			}
			mu.Lock()
			lat = append(lat, time.Since(committed))
			mu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	stop()
	slices.Sort(lat)
	fmt.Printf("latency:   %d events at %d/s for %ds, commit → integrated in a signed checkpoint: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(lat)*10, *rate, *seconds, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]))

	// 4. Sustained: four writers commit 100-event transactions as fast as they can while
	// the sequencer integrates; the integration rate is what the log keeps up with.
	runCtx, stop = context.WithCancel(ctx)
	go seq.Run(runCtx, time.Second)
	before := seq.Head().Size
	start = time.Now()
	stopWriters := time.Now().Add(time.Duration(*seconds) * time.Second)
	var written sync.WaitGroup
	var count sync.Mutex
	total := 0
	for w := range 4 {
		written.Add(1)
		go func() {
			defer written.Done()
			for k := 0; time.Now().Before(stopWriters); k++ {
				var evs []dx.Event
				for j := range 100 {
					evs = append(evs, event(w*1_000_000_000+k*100+j))
				}
				if err := st.RecordEvents(ctx, evs); err != nil {
					panic(err)
				}
				count.Lock()
				total += 100
				count.Unlock()
			}
		}()
	}
	written.Wait()
	integrated := seq.Head().Size - before
	elapsed := time.Since(start)
	for seq.Head().Size < before+int64(total) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	fmt.Printf("sustained: writers committed %d events in %.1fs (%.0f/s) while the sequencer integrated %d (%.0f/s); the backlog cleared %.2fs after the writers stopped\n",
		total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), integrated, float64(integrated)/elapsed.Seconds(), time.Since(start.Add(elapsed)).Seconds())

	// 5. Verifying the whole log from its tiles over HTTP.
	mux := http.NewServeMux()
	(&transparency.Log{Store: st, VKey: vkey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	start = time.Now()
	a, err := audit.VerifyLog(ctx, client.LogFetcher{Base: srv.URL}, audit.Trust{LogVKey: vkey}, "", 8)
	if err != nil {
		panic(err)
	}
	v := time.Since(start)
	fmt.Printf("verify:    %d entries from their tiles and bundles over HTTP in %.2fs (signature, every entry against its tile, every higher tile, the root)\n", a.Checkpoint.Size, v.Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
