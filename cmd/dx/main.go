// Command dx is the dx data exchange: `dx serve` runs it, `dx demo` runs a demo exchange
// with generated data, and the other verbs are a CLI over its API. This is the only
// package that reads flags and environment, picks implementations and wires them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dxexchange/dx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `dx — 可信数据交换 / a trusted data exchange

Usage:
  dx serve    [--addr :8080] [--data DIR] [--db sqlite|postgres://…] [--migrate] [--import-dir DIR]
  dx demo     [--addr 127.0.0.1:8080] [--data DIR] [--rows 1000000]
  dx migrate  [--data DIR] [--db …]
  dx config   print the effective configuration (secrets redacted)

  dx org      list | show ID | create NAME --roles provider,consumer [--uscc CODE]
  dx member   list [ORG] | add NAME EMAIL [--org ORG]
  dx token    list | create NAME [--scopes read,write] [--org ORG] | revoke ID
  dx asset    register NAME FILE [--title-zh … --title-en … --industry Q --region 330100 …] [--in-place]
              list | show ID | versions ID | classify ID
              | grade ID --level N --reason TEXT [--important] [--core] [--approve-egress]
  dx catalog  search [QUERY] [--industry X] [--region CODE] [--provider ORG] [--format F]
  dx access   request ASSET --purpose TEXT | approve GRANT | reject GRANT --reason TEXT
              | revoke GRANT | list [--status S]
  dx fetch    ASSET [-o FILE] [--format csv|parquet] [--version N] [--resume]
  dx compute setup ASSET [--unit COLUMN] [--max-groups N] [--snapshot-rows K] | show ASSET | budget AGREEMENT
  dx query    ASSET SQL|@FILE|- [--purpose P]
              a differentially private query: SELECT WITH DIFFERENTIAL_PRIVACY OPTIONS(epsilon=1,
              max_groups_contributed=1) region, COUNT(*, contribution_bounds_per_group => (0, 5)) …
  dx offer    create ASSET --policy FILE [--auto] | list ASSET
  dx contract request OFFER [--terms FILE] [--pid ID] | list | approve NEG | terminate NEG --reason TEXT
  dx agreement list | get ID [-o FILE] | revoke ID --reason TEXT
  dx transfer request AGREEMENT [-o FILE] [--format csv|parquet] [--purpose P] | list
              | suspend|resume|complete|terminate ID [--reason TEXT]
  dx agreement verify FILE   check a signed agreement offline (both parties' signatures)
  dx witness --name NAME --log VKEY [--addr :8090] [--data DIR]
              a tlog-witness: cosigns consistent checkpoints of the logs given, refuses forks
  dx audit verify [--server URL] [--vkey VKEY] [--receipt FILE] [--subject ID]
              fetch the audit log's checkpoint and tiles, verify them all, check consistency
              with the checkpoint saved last time, check a receipt, print a subject's history
  dx peer     list | catalog PARTICIPANT | negotiate PARTICIPANT DATASET OFFER | negotiations
              | accept NEG | terminate NEG [--reason TEXT]   (NEG: your consumer PID)
              | transfer PARTICIPANT AGREEMENT | transfers | pull TRANSFER [-o FILE]
              | suspend|resume|complete|stop TRANSFER [--reason TEXT]

Client verbs read DX_SERVER (default http://127.0.0.1:8080) and DX_TOKEN, or --server and
--token; add --json for machine-readable output.
`

// Run runs dx with args and returns the exit code: 0 ok, 1 a failure, 2 bad usage,
// 3 unauthorized or forbidden, 4 not found, 5 conflict, 6 invalid input.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout, stderr)
	case "config":
		err = runConfig(args[1:], stdout, stderr)
	case "agreement":
		if len(args) > 1 && args[1] == "verify" {
			err = runAgreement(args[1:], stdout, stderr)
		} else {
			err = runClient(ctx, args[0], args[1:], stdin, stdout, stderr)
		}
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	case "witness":
		err = runWitness(ctx, args[1:], stdout, stderr)
	case "org", "member", "token", "asset", "catalog", "access", "fetch", "offer", "contract", "transfer", "peer", "query", "compute":
		err = runClient(ctx, args[0], args[1:], stdin, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "dx: 未知命令 / unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if err == errUsage {
		return 2
	}
	fmt.Fprintf(stderr, "dx: %s\n", dx.ErrorMessage(err))
	if dx.ErrorCode(err) == dx.EInternal {
		fmt.Fprintf(stderr, "    (%v)\n", err)
	}
	switch dx.ErrorCode(err) {
	case dx.EUnauthorized, dx.EForbidden:
		return 3
	case dx.ENotFound:
		return 4
	case dx.EConflict:
		return 5
	case dx.EInvalid, dx.EUnprocessable, dx.ETooLarge:
		return 6
	}
	return 1
}
