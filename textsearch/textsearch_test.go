package textsearch

import (
	"reflect"
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"医疗", []string{"医疗"}},
		{"医", []string{"医"}},
		{"医疗器械", []string{"医疗", "疗器", "器械"}},
		{"Traffic 交通 flow", []string{"traffic", "交通", "flow"}},
		{"ＧＤＰ数据", []string{"gdp", "数据"}},
		{"  ,;'\" ", nil},
		{"o'brien", []string{"o", "brien"}},
	}
	for _, tt := range tests {
		if got := Query(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Query(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDocumentContainsEveryQueryTerm(t *testing.T) {
	doc := " " + Document("城市交通流量 Urban Traffic", "每日更新的医疗机构就诊数据") + " "
	for _, q := range []string{"交通", "医疗", "traffic", "URBAN", "就诊数据", "流"} {
		for _, term := range Query(q) {
			if !strings.Contains(doc, " "+term+" ") {
				t.Errorf("query %q: term %q not in document %q", q, term, doc)
			}
		}
	}
	for _, q := range []string{"教育", "weather"} {
		for _, term := range Query(q) {
			if strings.Contains(doc, " "+term+" ") {
				t.Errorf("query %q: term %q unexpectedly in document", q, term)
			}
		}
	}
}

func TestLongWordsAreCut(t *testing.T) {
	doc := Document(strings.Repeat("a", 1000))
	if len(doc) != maxWord {
		t.Fatalf("len = %d, want %d", len(doc), maxWord)
	}
}
