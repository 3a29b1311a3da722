package classify

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// The hand parsers replaced these regexps for speed; they must agree on every input.
var (
	oraclePlate = regexp.MustCompile(`^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z](?:[DABCEFGHJK][A-HJ-NP-Z0-9]\d{4}|\d{5}[DABCEFGHJK]|[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳领])$`)
	oracleVIN   = regexp.MustCompile(`^[A-HJ-NPR-Z0-9]{8}[0-9X][A-HJ-NPR-Z0-9]{8}$`)
	oracleEmail = regexp.MustCompile(`^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$`)
)

func TestHandParsersMatchRegexps(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	gen := func(alphabet []string, minLen, maxLen int) string {
		n := minLen + r.IntN(maxLen-minLen+1)
		s := ""
		for range n {
			s += alphabet[r.IntN(len(alphabet))]
		}
		return s
	}
	split := func(s string) []string {
		var out []string
		for _, c := range s {
			out = append(out, string(c))
		}
		return out
	}
	plateAlpha := split("京沪粤浙AEIODFKXZ0123456789挂学警港领甲 ")
	vinAlpha := split("ABHIJOQRXZ0189x-")
	emailAlpha := split("aZ09._%+-@@..comn中 ")
	for range 200_000 {
		if v := gen(plateAlpha, 5, 9); plate(v) != oraclePlate.MatchString(v) {
			t.Fatalf("plate(%q) = %v, regexp says %v", v, plate(v), !plate(v))
		}
		if v := gen(vinAlpha, 15, 18); vinFormat(v) != oracleVIN.MatchString(v) {
			t.Fatalf("vinFormat(%q) = %v", v, vinFormat(v))
		}
		if v := gen(emailAlpha, 3, 14); emailFormat(v) != oracleEmail.MatchString(v) {
			t.Fatalf("emailFormat(%q) = %v", v, emailFormat(v))
		}
	}
	// Structured near-misses the random strings rarely reach.
	for _, v := range []string{"浙A12345", "浙AD12345", "浙A12345D", "浙AD1234", "浙A1234学", "浙I12345", "浙A1234甲", "a@b.co", "a@b.c", "a@.com", "a@b..com", "@b.com", "a.b@c-d.e.fg", "a@b.c1"} {
		if plate(v) != oraclePlate.MatchString(v) || emailFormat(v) != oracleEmail.MatchString(v) {
			t.Fatalf("%q: plate %v/%v email %v/%v", v, plate(v), oraclePlate.MatchString(v), emailFormat(v), oracleEmail.MatchString(v))
		}
	}
}

func TestPlaceholdersFitTheLengthGuard(t *testing.T) {
	for p := range placeholders {
		if len(p) > maxPlaceholder {
			t.Fatalf("placeholder %q is longer than maxPlaceholder", p)
		}
	}
}

func TestFoldWidthIsNFKC(t *testing.T) {
	for r := rune(0xff01); r <= 0xff5e; r++ {
		v := "ａ" + string(r) + "中" + "\u3000x"
		w, ok := foldWidth(v)
		if !ok || w != norm.NFKC.String(v) {
			t.Fatalf("foldWidth(%q) = %q, NFKC %q", v, w, norm.NFKC.String(v))
		}
	}
	if _, ok := foldWidth("①"); ok {
		t.Fatal("foldWidth took a character it does not map")
	}
}

func TestLandlineParserMatchesRegexps(t *testing.T) {
	reLandline := regexp.MustCompile(`^(?:\(?0(?:10|2\d|[3-9]\d{2})\)?[- ]?)?[2-9]\d{6,7}(?:-\d{1,6})?$`)
	reLandArea := regexp.MustCompile(`^\(?0(?:10|2\d|[3-9]\d{2})\)?[- ]?[2-9]\d{6,7}(?:-\d{1,6})?$`)
	reService := regexp.MustCompile(`^[48]00-?\d{3}-?\d{4}$`)
	r := rand.New(rand.NewPCG(9, 9))
	alpha := []byte("0012345678940()- x")
	check := func(v string) {
		m, a := landline(v)
		if m != reLandline.MatchString(v) || a != reLandArea.MatchString(v) || serviceNumber(v) != reService.MatchString(v) {
			t.Fatalf("%q: landline %v/%v area %v/%v service %v/%v", v, m, reLandline.MatchString(v), a, reLandArea.MatchString(v), serviceNumber(v), reService.MatchString(v))
		}
	}
	for range 300_000 {
		b := make([]byte, 6+r.IntN(14))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		check(string(b))
	}
	for _, v := range []string{"010-12345678", "(010)12345678", "(0571) 8765432", "0571-87654321-123", "87654321", "2345678", "12345678", "0101234567", "400-123-4567", "4001234567", "800123-4567", "(0571", "0571)87654321", "021-1234567-", "021 76543210-1234567"} {
		check(v)
	}
}

func TestAddressMarkersAgree(t *testing.T) {
	for i, m := range addressMarkers {
		rs := []rune(m)
		prev := rune(0)
		if len(rs) == 2 {
			prev = rs[0]
		}
		if got := addressMarker(rs[len(rs)-1], prev); got != 1<<i {
			t.Fatalf("marker %q: bit %b, want %b", m, got, 1<<i)
		}
	}
}
