package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/access"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/audit"
	"github.com/dxexchange/dx/blob/fsblob"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/crossborder"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/engine"
	"github.com/dxexchange/dx/engine/duckdb"
	"github.com/dxexchange/dx/outbox"
	"github.com/dxexchange/dx/party"
	"github.com/dxexchange/dx/server"
	"github.com/dxexchange/dx/store"
	"github.com/dxexchange/dx/store/postgres"
	"github.com/dxexchange/dx/store/sqlite"
)

var errUsage = errors.New("usage")

// Config is the server's configuration: defaults, then DX_* environment, then flags.
type Config struct {
	Addr         string `json:"addr"`
	Data         string `json:"data"`
	DB           string `json:"db"` // "sqlite" or a postgres:// URL
	Migrate      bool   `json:"migrate"`
	MaxUpload    int64  `json:"max_upload_bytes"`
	EngineMemory string `json:"engine_memory"`
	Threads      int    `json:"engine_threads"`
	LogFormat    string `json:"log_format"` // text or json
	LogLevel     string `json:"log_level"`
	OperatorName string `json:"operator_name"`
	ImportDir    string `json:"import_dir"` // files here may be registered in place; "" for none
	// Connector (DSP) settings.
	ParticipantID string `json:"participant_id"` // "" for urn:dx:node:<operator org>
	PublicURL     string `json:"public_url"`     // "" for http://<addr>
	PeersFile     string `json:"peers_file"`     // JSON list of trusted peers; "" for none
	// Audit log settings.
	AuditOrigin string `json:"audit_origin"` // the log's identity; "" for the stored one, or dx.local/<operator org>/audit
	WitnessFile string `json:"witness_file"` // witnesses that cosign checkpoints ("witness NAME VKEY URL", "quorum K"); "" for none
	// ComputePad rounds every DP query's latency up to a multiple of it (timing side
	// channel); 0 for none.
	ComputePad time.Duration `json:"compute_pad"`
}

func defaultConfig() Config {
	return Config{Addr: ":8080", Data: "dx-data", DB: "sqlite", MaxUpload: 20 << 30, EngineMemory: "1GB",
		Threads: runtime.NumCPU(), ComputePad: 250 * time.Millisecond, LogFormat: "text", LogLevel: "info", OperatorName: "数据交易所运营方 Exchange Operator"}
}

// flags binds cfg to a flag set, after applying the DX_* environment.
func (cfg *Config) flags(name string, stderr io.Writer) *flag.FlagSet {
	env := func(key string, dst *string) {
		if v, ok := os.LookupEnv(key); ok {
			*dst = v
		}
	}
	env("DX_ADDR", &cfg.Addr)
	env("DX_DATA", &cfg.Data)
	env("DX_DB", &cfg.DB)
	env("DX_ENGINE_MEMORY", &cfg.EngineMemory)
	env("DX_LOG_FORMAT", &cfg.LogFormat)
	env("DX_LOG_LEVEL", &cfg.LogLevel)
	env("DX_IMPORT_DIR", &cfg.ImportDir)
	env("DX_PARTICIPANT_ID", &cfg.ParticipantID)
	env("DX_PUBLIC_URL", &cfg.PublicURL)
	env("DX_PEERS", &cfg.PeersFile)
	env("DX_AUDIT_ORIGIN", &cfg.AuditOrigin)
	env("DX_WITNESSES", &cfg.WitnessFile)
	if v, err := strconv.ParseInt(os.Getenv("DX_MAX_UPLOAD"), 10, 64); err == nil {
		cfg.MaxUpload = v
	}
	if v, err := strconv.ParseBool(os.Getenv("DX_MIGRATE")); err == nil {
		cfg.Migrate = v
	}
	fs := flag.NewFlagSet("dx "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (database file, blobs)")
	fs.StringVar(&cfg.DB, "db", cfg.DB, `"sqlite" (a file in the data directory) or a postgres:// URL`)
	fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply pending database migrations")
	fs.Int64Var(&cfg.MaxUpload, "max-upload", cfg.MaxUpload, "largest accepted upload, bytes")
	fs.StringVar(&cfg.EngineMemory, "engine-memory", cfg.EngineMemory, "DuckDB memory limit")
	fs.IntVar(&cfg.Threads, "engine-threads", cfg.Threads, "DuckDB threads")
	fs.DurationVar(&cfg.ComputePad, "compute-pad", cfg.ComputePad, "round DP query latencies up to a multiple of this (0: no padding)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.ParticipantID, "participant-id", cfg.ParticipantID, "this node's dataspace participant ID (default urn:dx:node:<operator org>)")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "this node's root URL as peers reach it (default http://<addr>)")
	fs.StringVar(&cfg.AuditOrigin, "audit-origin", cfg.AuditOrigin, "the audit log's origin (never changes once the log has entries; default dx.local/<operator org>/audit)")
	fs.StringVar(&cfg.WitnessFile, "witnesses", cfg.WitnessFile, "file of witnesses that cosign the audit log's checkpoints: lines \"witness NAME VKEY URL\" and \"quorum K\"; only cosigned checkpoints are published")
	fs.StringVar(&cfg.PeersFile, "peers", cfg.PeersFile, "JSON file of trusted peer connectors [{participant_id, public_key, url}], re-read when it changes")
	fs.StringVar(&cfg.ImportDir, "import-dir", cfg.ImportDir, "directory whose files may be registered in place (dx asset register --in-place)")
	return fs
}

func (cfg Config) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redacted returns the configuration as shown to people: no password in the DB URL.
func (cfg Config) redacted() Config {
	if i := strings.Index(cfg.DB, "://"); i >= 0 {
		if at := strings.LastIndex(cfg.DB, "@"); at > i {
			userinfo := cfg.DB[i+3 : at]
			if u, _, ok := strings.Cut(userinfo, ":"); ok {
				cfg.DB = cfg.DB[:i+3] + u + ":REDACTED" + cfg.DB[at:]
			}
		}
	}
	return cfg
}

// exchange is a wired dx: the store, blobs, engine and services behind one server.
type exchange struct {
	outbox    *outbox.Outbox
	auditLog  *audit.Sequencer
	stopLog   context.CancelFunc
	cfg       Config
	contracts *contract.Service
	log       *slog.Logger
	store     store.Store
	engine    *duckdb.Engine
	parties   *party.Service
	server    *server.Server
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
		return postgres.Open(ctx, cfg.DB, cfg.Migrate)
	}
	if cfg.DB != "sqlite" && cfg.DB != "" {
		return nil, dx.Errorf(dx.EInvalid, "--db 应为 sqlite 或 postgres:// URL / --db must be sqlite or a postgres:// URL")
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(cfg.Data, "dx.db"), cfg.Migrate)
}

func openExchange(ctx context.Context, cfg Config, log *slog.Logger) (*exchange, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	blobs, err := fsblob.Open(filepath.Join(cfg.Data, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	eng, err := duckdb.Open(duckdb.Config{Threads: cfg.Threads, MemoryLimit: cfg.EngineMemory, TempDir: filepath.Join(blobs.TempDir(), "duckdb")})
	if err != nil {
		st.Close()
		return nil, err
	}
	clock := dx.SystemClock{}
	parties := &party.Service{Store: st, Clock: clock, Log: log}
	assets := &asset.Service{Store: st, Blobs: blobs, Engine: eng, Clock: clock, Log: log, MaxSize: cfg.MaxUpload, ImportDir: cfg.ImportDir, Slots: make(chan struct{}, 2)}
	secret, err := seedKey(filepath.Join(cfg.Data, "pseudonym.key")) // derives per-recipient pseudonym keys
	if err != nil {
		eng.Close()
		st.Close()
		return nil, err
	}
	assets.PseudonymSecret, assets.CrossBorder = secret.Seed(), st
	contracts := &contract.Service{Store: st, Assets: assets, Keys: st, Clock: clock, Log: log}
	a := &api.API{
		Parties:     parties,
		Assets:      assets,
		Contracts:   contracts,
		Access:      &access.Service{Store: st, Assets: assets, Contracts: contracts, Clock: clock, Log: log},
		Catalog:     &catalog.Service{Store: st},
		Audit:       &audit.Service{Store: st},
		CrossBorder: &crossborder.Service{Store: st, Clock: clock},
		Compute: &compute.Service{Store: st, Assets: assets, Contracts: contracts, Engine: eng, Clock: clock, Log: log,
			Limits: engine.Limits{Threads: max(cfg.Threads, 1), MemoryLimit: cfg.EngineMemory}, Pad: cfg.ComputePad, Slots: make(chan struct{}, 2)},
		Changes: st.Changes,
		Log:     log,
	}
	srv := &server.Server{API: a, Log: log, Health: func(ctx context.Context) error {
		_, err := st.Events(ctx, 1<<62, 1)
		return err
	}}
	return &exchange{cfg: cfg, log: log, store: st, engine: eng, parties: parties, server: srv, contracts: contracts}, nil
}

func (x *exchange) Close() {
	if x.stopLog != nil {
		x.stopLog()
	}
	if x.outbox != nil {
		x.outbox.Close()
	}
	x.engine.Close()
	x.store.Close()
}

// serve listens on addr and serves until ctx ends, then shuts down gracefully. ready,
// if not nil, receives the bound address.
func (x *exchange) serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: x.server, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(x.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	x.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// start turns on what needs the operator: the audit log and the connector endpoints.
func (x *exchange) start(ctx context.Context, operator party.Org, addr string) error {
	if err := x.enableAuditLog(ctx, operator); err != nil {
		return err
	}
	// Privacy budget reserved by queries that a crash interrupted is spent: fail closed.
	if n, err := x.store.CommitStale(ctx, time.Now().Add(-2*time.Minute)); err != nil {
		return err
	} else if n > 0 {
		x.log.Warn("committed privacy budget reservations left by an interrupted run", "count", n)
	}
	return x.enableDSP(ctx, operator, addr)
}

// enableDSP turns on the connector endpoints once the operator (whose key signs for the
// node) exists; addr is the bound listen address.
func (x *exchange) enableDSP(ctx context.Context, operator party.Org, addr string) error {
	key, err := x.store.SigningKey(ctx, operator.ID)
	if err != nil {
		return err
	}
	pid := x.cfg.ParticipantID
	if pid == "" {
		pid = "urn:dx:node:" + operator.ID
	}
	public := x.cfg.PublicURL
	if public == "" {
		public = "http://" + addr
	}
	h := &dsp.Handler{ParticipantID: pid, Key: key, PublicURL: strings.TrimRight(public, "/"), PeersFile: x.cfg.PeersFile, Nonces: x.store, Events: x.store,
		Catalog: x.store, Offers: x.store, Assets: x.store, Contracts: x.contracts, Clock: dx.SystemClock{}, Log: x.log}
	x.outbox = outbox.Start(x.store, h.Deliver, h.Delivered, dx.SystemClock{}, x.log)
	h.Outbox, h.Units = x.outbox, x.store
	x.server.API.Atomically = h.Atomically
	x.server.DSP = h
	x.server.API.Remote = &dsp.Client{ParticipantID: pid, Key: key, HTTP: &http.Client{Timeout: 30 * time.Second}, Clock: dx.SystemClock{}}
	x.server.API.Peers = h.Peers
	x.server.API.Negotiate = h.Negotiate
	x.server.API.Transfer = h.Transfer
	x.server.API.Pull = h.Pull
	x.server.API.Notify = h.Notify
	x.server.API.NotifyTransfer = h.NotifyTransfer
	x.server.API.TerminateWithPeer = h.TerminateWithPeer
	x.server.API.ChangeTransferWithPeer = h.ChangeTransferWithPeer
	x.server.API.AcceptFromPeer = h.AcceptFromPeer
	x.server.API.CounterWithPeer = h.CounterWithPeer
	x.contracts.Node = &contract.Node{Participant: pid, Key: key}
	x.contracts.PeerCountry = h.PeerCountry
	return nil
}

// bootstrap creates the operator on first start and prints its token once.
func (x *exchange) bootstrap(ctx context.Context, stdout io.Writer) (party.Org, string, error) {
	org, secret, created, err := x.parties.Bootstrap(ctx, x.cfg.OperatorName)
	if err != nil {
		return org, "", err
	}
	if created {
		fmt.Fprintf(stdout, "首次启动：已创建运营方机构 %s / first start: created the operator organisation %s\n", org.ID, org.ID)
		fmt.Fprintf(stdout, "运营方令牌（只显示这一次）/ operator token (shown only this once):\n  %s\n", secret)
	}
	return org, secret, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	fs := cfg.flags("serve", stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	log := cfg.logger(stderr)
	slog.SetDefault(log)
	x, err := openExchange(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer x.Close()
	operator, _, err := x.bootstrap(ctx, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if err := x.start(ctx, operator, ln.Addr().String()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "审计日志 / audit log: %s  (verifier key %s)\n", x.auditLog.Origin, x.auditLog.VKey)
	fmt.Fprintf(stdout, "dx 正在监听 / listening on http://%s\n", ln.Addr())
	return x.serve(ctx, ln)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	fs := cfg.flags("migrate", stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg.Migrate = true
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	st.Close()
	fmt.Fprintln(stdout, "数据库结构已是最新 / the database schema is up to date")
	return nil
}

func runConfig(args []string, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	fs := cfg.flags("config", stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(cfg.redacted())
}
