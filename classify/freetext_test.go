package classify

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFreeText: identifiers inside notes are found (with minors), masked in place, and
// notes with order numbers, amounts and dates are not flagged.
func TestFreeText(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if got := MaskText("客户身份证11010519491231002X；电话13812345678 邮箱zhang.san@example.com 已回访"); got != "客户身份证110****002X；电话138****5678 邮箱z***@example.com 已回访" {
		t.Fatalf("MaskText: %q", got)
	}
	var notes, decoys []string
	ids := []string{"11010519491231002X", "440524188001010014", "110105201512313603"}
	for i := range 500 {
		switch i % 10 {
		case 0:
			notes = append(notes, fmt.Sprintf("客户来电，身份证号%s，已核实", ids[i%3]))
		case 1:
			notes = append(notes, fmt.Sprintf("请回电 13%d%08d 王先生", 5+i%4, i*7919%100_000_000))
		default:
			notes = append(notes, fmt.Sprintf("第%d次回访，客户满意，金额%d.%02d元", i, i*37%10000, i%100))
		}
		decoys = append(decoys, fmt.Sprintf("订单号%018d 于 2025-03-%02d 发货，金额 %d 元，快递单号 %d", int64(i)*1234567890123, 1+i%28, i*13, 7_000_000_000+int64(i)*77))
	}
	c := Classify("备注", notes, now)
	var f *Finding
	for i := range c.Findings {
		if c.Findings[i].Type == FreeTextType {
			f = &c.Findings[i]
		}
	}
	if f == nil || f.Grade != 3 || c.Minors == 0 || !strings.Contains(f.Reason, "ID numbers") {
		t.Fatalf("notes: %+v", c)
	}
	if masks := ColumnMasks([]Column{c}); masks["备注"] != FreeTextType {
		t.Fatalf("notes are masked as %v", masks)
	}
	if d := Classify("备注", decoys, now); len(d.Findings) != 0 {
		t.Fatalf("order notes flagged: %+v", d.Findings)
	}
	// An ID column is masked whole; it gets no free-text finding besides.
	if d := Classify("身份证号", ids, now); len(d.Findings) != 1 || d.Findings[0].Type != IDCardType {
		t.Fatalf("ID column: %+v", d.Findings)
	}
}
