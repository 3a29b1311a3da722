package main

import (
	"fmt"
	"io"
	"os"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/policy"
)

// runAgreement handles `dx agreement verify FILE`, which needs no server.
func runAgreement(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "verify" {
		fmt.Fprintln(stderr, "用法 / usage: dx agreement verify FILE")
		return errUsage
	}
	b, err := os.ReadFile(args[1])
	if err != nil {
		return dx.Wrap(err, dx.EInvalid, "无法读取文件 / cannot read "+args[1])
	}
	a, err := contract.ParseDocument(b)
	if err != nil {
		return err
	}
	if err := a.Verify(nil); err != nil {
		return err
	}
	p := a.Policy
	fmt.Fprintf(stdout, "协议有效 / agreement verified\n  id        %s\n  target    %s\n  assigner  %s\n  assignee  %s\n  timestamp %s\n  terms     sha256:%s\n  signed by %d parties\n",
		p.ID, p.Target, p.Assigner, p.Assignee, p.Timestamp, policy.Digest(p), len(a.Signatures))
	return nil
}
