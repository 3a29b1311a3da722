// Package dx holds the vocabulary every other dx package shares: the Error type and its
// codes, prefixed sortable IDs, the Principal acting on a request, the Clock, and audit
// Events with their canonical JSON payloads.
//
// It imports only the standard library and holds no business rules: those live in the
// domain packages (party, asset, access, catalog, ...), which build on these types.
package dx
