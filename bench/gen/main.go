// Command gen writes a synthetic CSV of N rows (about 100 bytes each, mixed Chinese text,
// dates, integers and decimals) for the ingestion benchmark.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "rows")
	out := flag.String("o", "bench.csv", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"杭州市西湖区文三路", "宁波市鄞州区中山东路", "温州市鹿城区人民路", "绍兴市越城区解放北路", "上海市浦东新区世纪大道"}
	cats := []string{"餐饮", "零售", "医疗", "教育", "交通", "金融"}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	w.WriteString("id,event_date,region_code,address,category,quantity,amount,score,note\n")
	var b []byte
	for i := range *rows {
		b = b[:0]
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
		b = day.AddDate(0, 0, r.IntN(700)).AppendFormat(b, "2006-01-02")
		b = append(b, ",33010"...)
		b = strconv.AppendInt(b, int64(1+r.IntN(9)), 10)
		b = append(b, ',')
		b = append(b, names[r.IntN(len(names))]...)
		b = strconv.AppendInt(b, int64(1+r.IntN(999)), 10)
		b = append(b, "号,"...)
		b = append(b, cats[r.IntN(len(cats))]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, float64(r.IntN(10_000_000))/100, 'f', 2, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, r.Float64(), 'f', 4, 64)
		b = append(b, ",ok\n"...)
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}
