// Package region holds the administrative division codes dx uses: GB/T 2260 six-digit
// codes (province PP0000 ⊃ prefecture PPCC00 ⊃ county PPCCXX) with their province table,
// validation and containment. Pure and dependency-free, so catalog filters and usage
// policies share one definition of "inside a region".
package region

import (
	"regexp"
	"slices"
	"strings"
)

// Name is a bilingual name.
type Name struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Province is a province-level division of GB/T 2260.
type Province struct {
	Code string `json:"code"` // six digits, ending 0000
	Name Name   `json:"name"`
}

// Provinces lists the province-level divisions of GB/T 2260, plus 100000 for the whole
// country.
var Provinces = []Province{
	{"100000", Name{"全国", "China (nationwide)"}},
	{"110000", Name{"北京市", "Beijing"}}, {"120000", Name{"天津市", "Tianjin"}}, {"130000", Name{"河北省", "Hebei"}},
	{"140000", Name{"山西省", "Shanxi"}}, {"150000", Name{"内蒙古自治区", "Inner Mongolia"}}, {"210000", Name{"辽宁省", "Liaoning"}},
	{"220000", Name{"吉林省", "Jilin"}}, {"230000", Name{"黑龙江省", "Heilongjiang"}}, {"310000", Name{"上海市", "Shanghai"}},
	{"320000", Name{"江苏省", "Jiangsu"}}, {"330000", Name{"浙江省", "Zhejiang"}}, {"340000", Name{"安徽省", "Anhui"}},
	{"350000", Name{"福建省", "Fujian"}}, {"360000", Name{"江西省", "Jiangxi"}}, {"370000", Name{"山东省", "Shandong"}},
	{"410000", Name{"河南省", "Henan"}}, {"420000", Name{"湖北省", "Hubei"}}, {"430000", Name{"湖南省", "Hunan"}},
	{"440000", Name{"广东省", "Guangdong"}}, {"450000", Name{"广西壮族自治区", "Guangxi"}}, {"460000", Name{"海南省", "Hainan"}},
	{"500000", Name{"重庆市", "Chongqing"}}, {"510000", Name{"四川省", "Sichuan"}}, {"520000", Name{"贵州省", "Guizhou"}},
	{"530000", Name{"云南省", "Yunnan"}}, {"540000", Name{"西藏自治区", "Tibet"}}, {"610000", Name{"陕西省", "Shaanxi"}},
	{"620000", Name{"甘肃省", "Gansu"}}, {"630000", Name{"青海省", "Qinghai"}}, {"640000", Name{"宁夏回族自治区", "Ningxia"}},
	{"650000", Name{"新疆维吾尔自治区", "Xinjiang"}}, {"710000", Name{"台湾省", "Taiwan"}},
	{"810000", Name{"香港特别行政区", "Hong Kong"}}, {"820000", Name{"澳门特别行政区", "Macao"}},
}

var regionRE = regexp.MustCompile(`^[1-8][0-9]{5}$`)

// Valid reports whether code is a six-digit GB/T 2260 code under a known province.
func Valid(code string) bool {
	if !regionRE.MatchString(code) {
		return false
	}
	return slices.ContainsFunc(Provinces, func(p Province) bool { return p.Code[:2] == code[:2] })
}

// Prefix returns the prefix that every code inside region shares: "33" for the
// province 330000, "3301" for the city 330100, the whole code for a county. The
// nationwide code 100000 has the empty prefix.
func Prefix(code string) string {
	if code == "100000" {
		return ""
	}
	switch {
	case strings.HasSuffix(code, "0000"):
		return code[:2]
	case strings.HasSuffix(code, "00"):
		return code[:4]
	}
	return code
}

// Contains reports whether the division inner lies inside (or is) outer, both GB/T 2260
// codes; the nationwide code 100000 contains every code.
func Contains(outer, inner string) bool {
	return strings.HasPrefix(inner, Prefix(outer))
}
