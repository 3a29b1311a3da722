// Package server mounts the API, /healthz and /metrics on one http.ServeMux, with
// request logging, panic recovery and Prometheus-format request metrics. It knows the
// transports, never a storage adapter.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/transparency"
)

// Server is dx's HTTP handler.
type Server struct {
	API *api.API
	DSP *dsp.Handler // the Dataspace Protocol endpoints; nil leaves them out
	// AuditLog serves the Merkle audit log as tlog-tiles under /audit/; nil leaves it out.
	AuditLog *transparency.Log
	Log      *slog.Logger
	Health   func(ctx context.Context) error // checks the database; nil: always healthy

	once    sync.Once
	handler http.Handler
	metrics metrics
}

// metrics counts requests per route pattern and status class, and their durations.
type metrics struct {
	mu       sync.Mutex
	requests map[string]*counter // key: method pattern + "\x00" + code
	inFlight atomic.Int64
	start    time.Time
}

type counter struct {
	n       int64
	seconds float64
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(s.build)
	s.handler.ServeHTTP(w, r)
}

func (s *Server) build() {
	mux := http.NewServeMux()
	mux.Handle("/api/", s.API.Handler())
	if s.DSP != nil {
		s.DSP.Register(mux)
	}
	if s.AuditLog != nil {
		s.AuditLog.Register(mux)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "dx 可信数据交换 / trusted data exchange\nAPI: /api/v1/openapi.json  health: /healthz  metrics: /metrics")
			return
		}
		api.WriteError(w, r, s.Log, dx.Errorf(dx.ENotFound, "没有这个页面 / not found: %s", r.URL.Path))
	})
	s.metrics.requests = map[string]*counter{}
	s.metrics.start = time.Now()
	s.handler = s.instrument(mux)
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		s.metrics.inFlight.Add(1)
		defer func() {
			s.metrics.inFlight.Add(-1)
			if p := recover(); p != nil {
				s.Log.Error("panic serving request", "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					api.WriteError(rec, r, s.Log, dx.Errorf(dx.EInternal, "内部错误 / internal error"))
				}
			}
			elapsed := time.Since(start)
			pattern := r.Pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			key := pattern + "\x00" + fmt.Sprint(rec.status)
			s.metrics.mu.Lock()
			c := s.metrics.requests[key]
			if c == nil {
				c = &counter{}
				s.metrics.requests[key] = c
			}
			c.n++
			c.seconds += elapsed.Seconds()
			s.metrics.mu.Unlock()
			s.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes, "ms", elapsed.Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Health(ctx); err != nil {
			s.Log.Error("health check failed", "err", err)
			http.Error(w, "unhealthy: database", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.mu.Lock()
	keys := make([]string, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# HELP dx_http_requests_total HTTP requests served, by route pattern and status.\n# TYPE dx_http_requests_total counter\n")
	for _, k := range keys {
		route, code, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(&b, "dx_http_requests_total{route=%q,code=%q} %d\n", route, code, s.metrics.requests[k].n)
	}
	b.WriteString("# HELP dx_http_request_seconds_total Time spent serving HTTP requests.\n# TYPE dx_http_request_seconds_total counter\n")
	for _, k := range keys {
		route, code, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(&b, "dx_http_request_seconds_total{route=%q,code=%q} %g\n", route, code, s.metrics.requests[k].seconds)
	}
	s.metrics.mu.Unlock()
	fmt.Fprintf(&b, "# HELP dx_http_requests_in_flight Requests being served.\n# TYPE dx_http_requests_in_flight gauge\ndx_http_requests_in_flight %d\n", s.metrics.inFlight.Load()-1)
	fmt.Fprintf(&b, "# HELP dx_uptime_seconds Seconds since the server started.\n# TYPE dx_uptime_seconds gauge\ndx_uptime_seconds %g\n", time.Since(s.metrics.start).Seconds())
	w.Write([]byte(b.String()))
}
