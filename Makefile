# dx — the two commands of the README's quick start are `make demo` and `make test`.
GO ?= go

.PHONY: demo test build bench

demo:
	$(GO) run ./cmd/dx demo

# All tests. PostgreSQL tests run when DX_TEST_POSTGRES names a database (CI sets it).
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

build:
	$(GO) build -o bin/dx ./cmd/dx

bench:
	bash bench/run.sh
