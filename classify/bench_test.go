package classify

import "testing"

// BenchmarkClassifyMixed classifies five 500-value columns (IDs, mobiles, names, decoys,
// addresses) per iteration.
func BenchmarkClassifyMixed(b *testing.B) {
	cols := map[string][]string{
		"身份证号": repeat(500, "11010519491231002X", "440524188001010014", "310104198504121237"),
		"sjh":  repeat(500, "13912345678", "19912345678", "18612345678"),
		"姓名":   repeat(500, "张三", "李小明", "欧阳娜娜"),
		"col":  repeat(500, "20240101123456001", "1700000000", "12.50"),
		"地址":   repeat(500, "浙江省杭州市西湖区文三路100号"),
	}
	b.ResetTimer()
	for range b.N {
		for h, v := range cols {
			Classify(h, v, now)
		}
	}
}
