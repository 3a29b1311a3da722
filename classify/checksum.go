package classify

import (
	"strings"
	"time"
)

// Checksums of Chinese and international identifiers (digest §4.3).

// idProvinces are the valid first two digits of a 居民身份证 (and 81/82/83 for the
// Hong Kong, Macao and Taiwan residence permits).
var idProvinces = map[string]bool{}

func init() {
	for _, p := range []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"} {
		idProvinces[p] = true
	}
}

// mod112 is the ISO 7064 MOD 11-2 check character of 17 digits.
func mod112(body string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := range 17 {
		s += int(body[i]-'0') * weights[i]
	}
	return "10X98765432"[s%11]
}

// IDCard reports whether an 18-character value is a valid 居民身份证 number (or a
// residence permit, or with pr a 2023 永居证): province, real date not in the future
// and not before 1880, and the MOD 11-2 check. It returns the birth date.
func IDCard(v string, now time.Time, pr bool) (time.Time, bool) {
	if len(v) != 18 || !digits(v[:17]) || !(isDigit(v[17]) || v[17] == 'X') {
		return time.Time{}, false
	}
	if !idProvinces[v[:2]] && !(pr && v[0] == '9') {
		return time.Time{}, false
	}
	birth, ok := date8(v[6:14])
	if !ok || birth.Year() < 1880 || birth.After(now) {
		return time.Time{}, false
	}
	return birth, mod112(v[:17]) == v[17]
}

// date8 reads YYYYMMDD digits as a real calendar date.
func date8(s string) (time.Time, bool) {
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m := int(s[4]-'0')*10 + int(s[5]-'0')
	d := int(s[6]-'0')*10 + int(s[7]-'0')
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == d
}

// UpgradeID15 turns a pre-1999 15-digit ID into its 18-digit form ("" if it cannot be one).
func UpgradeID15(v string) string {
	if len(v) != 15 || !digits(v) || !idProvinces[v[:2]] {
		return ""
	}
	body := v[:6] + "19" + v[6:]
	if _, ok := date8(body[6:14]); !ok {
		return ""
	}
	return body + string(mod112(body))
}

const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// USCC reports whether a value is a valid 统一社会信用代码 (GB 32100-2015): charset, MOD 31
// check, and a valid 组织机构代码 in positions 9–17.
func USCC(v string) bool {
	if len(v) != 18 {
		return false
	}
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	s := 0
	for i := range 17 {
		k := strings.IndexByte(usccCharset, v[i])
		if k < 0 {
			return false
		}
		s += k * weights[i]
	}
	c := 31 - s%31
	if c == 31 {
		c = 0
	}
	return v[17] == usccCharset[c] && OrgCode(v[8:17])
}

// OrgCode reports whether a value (8 body characters and a check, hyphen optional) is a
// valid 组织机构代码 (GB 11714-1997).
func OrgCode(v string) bool {
	v = strings.Replace(v, "-", "", 1)
	if len(v) != 9 {
		return false
	}
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := range 8 {
		c := v[i]
		switch {
		case isDigit(c):
			s += int(c-'0') * weights[i]
		case c >= 'A' && c <= 'Z':
			s += int(c-'A'+10) * weights[i]
		default:
			return false
		}
	}
	c := 11 - s%11
	want := byte('0' + c)
	switch c {
	case 10:
		want = 'X'
	case 11:
		want = '0'
	}
	return v[8] == want
}

// RegNo15 reports whether 15 digits carry a valid ISO 7064 MOD 11,10 check (the old
// 工商注册号).
func RegNo15(v string) bool {
	if len(v) != 15 || !digits(v) {
		return false
	}
	p := 10
	for i := range 14 {
		s := (p + int(v[i]-'0')) % 10
		if s == 0 {
			s = 10
		}
		p = (2 * s) % 11
	}
	return int(v[14]-'0') == (11-p)%10
}

// Luhn reports whether digits pass the Luhn check (bank cards, IMEI).
func Luhn(v string) bool {
	if len(v) < 2 || !digits(v) {
		return false
	}
	s := 0
	for i := range len(v) {
		d := int(v[len(v)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		s += d
	}
	return s%10 == 0
}

// VIN reports whether 17 characters carry a valid ISO 3779 check digit (position 9).
func VIN(v string) bool {
	if len(v) != 17 {
		return false
	}
	weights := [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	s := 0
	for i := range 17 {
		c := v[i]
		switch {
		case isDigit(c):
			s += int(c-'0') * weights[i]
		case vinValues[c] > 0:
			s += vinValues[c] * weights[i]
		default:
			return false // I, O, Q and others
		}
	}
	want := byte('0' + s%11)
	if s%11 == 10 {
		want = 'X'
	}
	return v[8] == want
}

// vinValues transliterates VIN letters (I, O and Q are not used).
var vinValues = map[byte]int{'A': 1, 'B': 2, 'C': 3, 'D': 4, 'E': 5, 'F': 6, 'G': 7, 'H': 8, 'J': 1, 'K': 2, 'L': 3, 'M': 4, 'N': 5,
	'P': 7, 'R': 9, 'S': 2, 'T': 3, 'U': 4, 'V': 5, 'W': 6, 'X': 7, 'Y': 8, 'Z': 9}

// twCodes maps a Taiwan ID's letter to two digits.
var twCodes = map[byte]int{'A': 10, 'B': 11, 'C': 12, 'D': 13, 'E': 14, 'F': 15, 'G': 16, 'H': 17, 'I': 34, 'J': 18, 'K': 19, 'L': 20, 'M': 21,
	'N': 22, 'O': 35, 'P': 23, 'Q': 24, 'R': 25, 'S': 26, 'T': 27, 'U': 28, 'V': 29, 'W': 32, 'X': 30, 'Y': 31, 'Z': 33}

var dropParens = strings.NewReplacer("(", "", ")", "")

// HKID reports whether a Hong Kong identity card number (one or two letters, six digits,
// check in optional parentheses) is valid.
func HKID(v string) bool {
	v = dropParens.Replace(v)
	if len(v) == 8 {
		v = " " + v
	}
	if len(v) != 9 || !digits(v[2:8]) {
		return false
	}
	val := func(c byte) int {
		switch {
		case c == ' ':
			return 36
		case c >= 'A' && c <= 'Z':
			return int(c-'A') + 10
		case isDigit(c):
			return int(c - '0')
		}
		return -1
	}
	s := 0
	for i := range 8 {
		x := val(v[i])
		if x < 0 || (i < 2 && isDigit(v[i])) {
			return false
		}
		s += x * (9 - i)
	}
	c := 11 - s%11
	want := byte('0' + c)
	switch c {
	case 10:
		want = 'A'
	case 11:
		want = '0'
	}
	return v[8] == want
}

// TaiwanID reports whether a Taiwan national ID (letter + 9 digits) is valid.
func TaiwanID(v string) bool {
	if len(v) != 10 || v[0] < 'A' || v[0] > 'Z' || !digits(v[1:]) {
		return false
	}
	n := twCodes[v[0]]
	d := []int{n / 10, n % 10}
	for i := 1; i < 10; i++ {
		d = append(d, int(v[i]-'0'))
	}
	weights := [11]int{1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1}
	s := 0
	for i, x := range d {
		s += x * weights[i]
	}
	return s%10 == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
