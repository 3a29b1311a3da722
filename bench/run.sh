#!/usr/bin/env bash
# Runs dx's benchmarks and prints their figures (docs/benchmarks.md records them).
#   bash bench/run.sh            # all: ingestion, catalog search (SQLite, PostgreSQL), streaming
# PostgreSQL search runs when DX_BENCH_POSTGRES names a database it may fill.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DX_BENCH_DATA:-/tmp/dx-bench}
mkdir -p "$data"

echo "== ingestion: 10M-row CSV, DuckDB alone vs dx (in place and upload), 2 threads"
[ -f "$data/bench10m.csv" ] || go run ./bench/gen -rows 10000000 -o "$data/bench10m.csv"
go build -o "$data/ingest" ./bench/ingest
for i in 1 2 3; do
  /usr/bin/time -f "   peak RSS %M KB" "$data/ingest" -mode duckdb -file "$data/bench10m.csv"
  /usr/bin/time -f "   peak RSS %M KB" "$data/ingest" -mode dx -file "$data/bench10m.csv"
  /usr/bin/time -f "   peak RSS %M KB" "$data/ingest" -mode dx-upload -file "$data/bench10m.csv"
done

echo "== catalog search over 100k assets, SQLite"
go build -o "$data/search" ./bench/search
"$data/search" -dir "$data" -n 100000 -queries 2400
if [ -n "${DX_BENCH_POSTGRES:-}" ]; then
  echo "== catalog search over 100k assets, PostgreSQL"
  "$data/search" -db "$DX_BENCH_POSTGRES" -n 100000 -queries 2400
fi

echo "== streaming a granted ~1 GB CSV over loopback"
go test -run '^$' -bench StreamGranted -benchtime 5x ./cmd/dx

echo "== negotiation plus transfer start between two local nodes"
go test -run '^$' -bench AcrossNodes -benchtime 500x ./cmd/dx

echo "== audit log: 1M events written, integrated, latency under 2,000/s, full verification from tiles"
go build -o "$data/auditlog" ./bench/auditlog
"$data/auditlog" -n 1000000 -rate 2000 -seconds 20
