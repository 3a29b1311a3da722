// Package bench holds dx's benchmark programs and the scripts that make their data; the
// figures they produce are recorded in docs/benchmarks.md.
package bench
