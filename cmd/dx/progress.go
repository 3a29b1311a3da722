package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress draws a one-line progress bar on a terminal; elsewhere it stays silent.
type progress struct {
	w      io.Writer
	label  string
	total  int64
	n      int64
	start  time.Time
	last   time.Time
	active bool
}

func newProgress(w io.Writer, label string, total int64) *progress {
	active := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			active = true
		}
	}
	return &progress{w: w, label: label, total: total, start: time.Now(), active: active}
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.active && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	mb := float64(p.n) / (1 << 20)
	rate := mb / max(time.Since(p.start).Seconds(), 0.001)
	if p.total > 0 {
		pct := float64(p.n) * 100 / float64(p.total)
		width := 30
		fill := int(pct / 100 * float64(width))
		fill = min(max(fill, 0), width)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = '-'
			if i < fill {
				bar[i] = '#'
			}
		}
		fmt.Fprintf(p.w, "\r%s [%s] %5.1f%% %.1f MiB %.1f MiB/s ", p.label, bar, pct, mb, rate)
		return
	}
	fmt.Fprintf(p.w, "\r%s %.1f MiB %.1f MiB/s ", p.label, mb, rate)
}

func (p *progress) done() {
	if p.active {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
