package client

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/dxexchange/dx"
)

// LogFetcher reads an exchange's audit log files (/audit/checkpoint, tiles, bundles)
// over HTTP; it is an audit.Fetcher. Bundles arrive gzip-compressed and are
// decompressed by the transport.
type LogFetcher struct {
	Base string // the exchange's URL, e.g. http://127.0.0.1:8080
	HTTP *http.Client
}

// Fetch returns one file of the log by its path under /audit/.
func (f LogFetcher) Fetch(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(f.Base, "/")+"/audit/"+path, nil)
	if err != nil {
		return nil, err
	}
	hc := f.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, dx.Wrap(err, dx.EInternal, "无法连接审计日志 / cannot reach the audit log")
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, dx.Errorf(dx.ENotFound, "日志中没有 %s / the log serves no %s", path, path)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, dx.Errorf(dx.EInternal, "GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
