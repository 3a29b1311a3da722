package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// query runs a DP query and prints the noisy table with its accuracy and budget.
func (c *cli) query(ctx context.Context, assetID, sql, purpose string, stdin io.Reader) error {
	if sql == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		if err != nil {
			return err
		}
		sql = string(b)
	} else if strings.HasPrefix(sql, "@") {
		b, err := os.ReadFile(sql[1:])
		if err != nil {
			return err
		}
		sql = string(b)
	}
	ans, err := c.c.Query(ctx, assetID, sql, purpose)
	if err != nil {
		return err
	}
	return c.print(ans, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, strings.Join(ans.Columns, "\t"))
		for _, r := range ans.Rows {
			cells := make([]string, len(r))
			for i, v := range r {
				if f, ok := v.(float64); ok {
					cells[i] = fmt.Sprintf("%.2f", f)
				} else {
					cells[i] = fmt.Sprint(v)
				}
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(c.stdout)
		for _, a := range ans.Accuracy {
			fmt.Fprintf(c.stdout, "%s: %s 噪声 / noise, scale %.3g, 95%% ±%.3g\n", a.Column, a.Mechanism, a.Scale, a.Interval)
		}
		if ans.Threshold > 0 {
			fmt.Fprintf(c.stdout, "少于约 %d 人的分组不显示 / groups with fewer than about %d persons are suppressed\n", ans.Threshold, ans.Threshold)
		}
		if ans.Cached {
			fmt.Fprintln(c.stdout, "相同查询的既有结果，未消耗预算 / the earlier answer to this same query, at no cost")
		} else {
			fmt.Fprintf(c.stdout, "本次消耗 / cost: ε=%g δ=%g ρ=%g\n", ans.Cost.Epsilon, ans.Cost.Delta, ans.Cost.Rho)
		}
		if ans.Spent != nil && ans.Limits != nil {
			fmt.Fprintf(c.stdout, "协议 %s 已用 / spent: ε=%g/%g δ=%g/%g ρ=%g/%g\n", ans.AgreementID, ans.Spent.Epsilon, ans.Limits.Total.Epsilon,
				ans.Spent.Delta, ans.Limits.Total.Delta, ans.Spent.Rho, ans.Limits.Total.Rho)
		}
	})
}

func orDash(s string) string {
	if s == "" {
		return "-（每行一人 / one row per person）"
	}
	return s
}
