package asset

import (
	"context"
	"time"

	"github.com/dxexchange/dx/classify"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/engine"
)

// ClassifySample is how many rows classification reads from a version (a uniform sample).
const ClassifySample = 10_000

// classifyFile samples the version's Parquet file and proposes its grade; the sample
// rows the asset page shows are masked where a column holds personal data.
func (s *Service) classifyFile(ctx context.Context, path string, v *Version, now time.Time) error {
	// The sample's memory grows with rows × columns: wide tables get fewer rows (at
	// least 200), and a table never more rows than it has.
	n := min(int64(ClassifySample), int64(max(200, 2_000_000/max(1, len(v.Columns)))), max(1, v.RowCount))
	names, values, err := s.Engine.Sample(ctx, path, int(n))
	if err != nil {
		return err
	}
	cols := make([]classify.Column, len(names))
	for i, name := range names {
		cols[i] = classify.Classify(name, values[i], now)
	}
	p := classify.Propose(cols, v.RowCount)
	if key := p.PersonKey(); key != "" && v.RowCount >= classify.LargePI {
		// Scale counts persons, not rows: distinct values of the best identifier,
		// estimated in the engine (a HyperLogLog sketch; no identifier leaves it).
		mins, err := s.Engine.MinHashes(ctx, path, key, 1, crossborder.SketchBits)
		if err != nil {
			return err
		}
		sk, err := crossborder.SketchFromMins(mins)
		if err != nil {
			return err
		}
		p = classify.Propose(cols, min(sk.Estimate(), v.RowCount))
	}
	v.Classification = &p
	v.Sample = classify.MaskRows(cols, v.Sample)
	// Column statistics would show raw values too: mask them the same way.
	masked := classify.MaskRows(cols, [][]string{columnStat(v.Columns, true), columnStat(v.Columns, false)})
	for i := range v.Columns {
		v.Columns[i].Min, v.Columns[i].Max = masked[0][i], masked[1][i]
	}
	return nil
}

func columnStat(cols []engine.Column, min bool) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if min {
			out[i] = c.Min
		} else {
			out[i] = c.Max
		}
	}
	return out
}
