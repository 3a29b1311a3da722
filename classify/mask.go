package classify

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaskSpec is how a value of type t is masked (digest §7.3), as a kind — "keep" (the
// first and last characters), "name" (the surname), "address" (to the district),
// "email" (first character and domain), "ip" (last octet) or "hide" — the engine
// applies the same specs when data leaves.
func MaskSpec(t Type) (kind string, first, last int) {
	switch t {
	case IDCardType, DamagedType, MobileType:
		return "keep", 3, 4
	case LandlineType:
		return "keep", 4, 2
	case BankCardType:
		return "keep", 6, 4
	case NameType:
		return "name", 1, 0
	case AddressType:
		return "address", 3, 0
	case EmailType:
		return "email", 1, 1
	case PlateType, VINType:
		return "keep", 2, 1
	case PassportType, PermitType, HKIDType, TWIDType, IMEIType, MACType:
		return "keep", 1, 3
	case IPType:
		return "ip", 4, 0
	case GPSType, BirthType:
		return "keep", 4, 0
	case CredentialTyp:
		return "hide", 0, 0
	case FreeTextType:
		return "text", 0, 0
	}
	return "keep", 1, 1
}

// Mask returns a value of type t as its display mask shows it (MaskSpec): ID numbers
// 110***********1234, phones 138****5678, cards 622202******7894, 张*, 欧阳**,
// 北京市海淀区********, z***@example.com, 苏D****0, 192.0.2.*; credentials never.
func Mask(t Type, v string) string {
	if v == "" {
		return ""
	}
	r := []rune(v)
	keep := func(first, last int) string {
		if len(r) <= first+last {
			return strings.Repeat("*", len(r))
		}
		return string(r[:first]) + strings.Repeat("*", len(r)-first-last) + string(r[len(r)-last:])
	}
	kind, first, last := MaskSpec(t)
	switch kind {
	case "text":
		return MaskText(v)
	case "name":
		for _, c := range compoundSurnames {
			if strings.HasPrefix(v, c) {
				return c + strings.Repeat("*", max(1, utf8.RuneCountInString(v)-2))
			}
		}
		return string(r[:1]) + strings.Repeat("*", max(1, len(r)-1))
	case "address":
		i := strings.IndexAny(v, "区县旗")
		if i < 0 {
			i = strings.IndexAny(v, "市")
		}
		if i >= 0 {
			_, size := utf8.DecodeRuneInString(v[i:])
			return v[:i+size] + "********" // a fixed length hides the rest's length too
		}
	case "email":
		if at := strings.IndexByte(v, '@'); at > 0 {
			return string(r[0]) + "***" + v[at:]
		}
	case "ip":
		if i := strings.LastIndexByte(v, '.'); i > 0 && strings.Count(v, ".") == 3 {
			return v[:i] + ".*"
		}
		first, last = 4, 0
	case "hide":
		return "******"
	}
	return keep(first, last)
}

// ColumnMasks returns, for each column holding personal data, the type whose mask
// applies (the highest-graded finding).
func ColumnMasks(cols []Column) map[string]Type {
	out := map[string]Type{}
	for _, c := range cols {
		best := 1
		for _, f := range c.Findings {
			if f.Grade >= 2 && f.Grade >= best || f.Type == CredentialTyp {
				out[c.Name], best = f.Type, max(best, f.Grade)
			}
		}
	}
	return out
}

// MaskRows masks the cells of sample rows (in column order) whose column holds personal
// data, by the column's highest-graded type.
func MaskRows(cols []Column, rows [][]string) [][]string {
	masks := ColumnMasks(cols)
	types := make([]Type, len(cols))
	for i, c := range cols {
		types[i] = masks[c.Name]
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(row))
		for j, cell := range row {
			if j < len(types) && types[j] != "" {
				cell = Mask(types[j], strings.TrimSpace(cell))
			}
			out[i][j] = cell
		}
	}
	return out
}

// Identifier reports whether a type identifies a person or thing directly, so that a
// keyed pseudonym can stand in for it (names, addresses and the like are masked instead).
func Identifier(t Type) bool {
	switch t {
	case IDCardType, MobileType, LandlineType, BankCardType, EmailType, PassportType, PermitType, HKIDType, TWIDType,
		IMEIType, MACType, IPType, PlateType, VINType, DamagedType:
		return true
	}
	return false
}

// Identifiers inside free text are masked in place, the text kept: digit runs of 11–19
// (an ID number's last character may be X) keep their first 3 and last 4 characters
// around a fixed ****, e-mail local parts their first character. The engine applies the
// same two RE2 expressions in SQL (TextDigitsRE, TextEmailRE), so the asset page and
// every egress agree.
const (
	TextDigitsRE = `([0-9]{3})[0-9]{4,12}([0-9Xx]{4})`
	TextEmailRE  = `([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@`
)

var textDigits, textEmail = regexp.MustCompile(TextDigitsRE), regexp.MustCompile(TextEmailRE)

// MaskText masks the identifiers inside free text.
func MaskText(v string) string {
	return textEmail.ReplaceAllString(textDigits.ReplaceAllString(v, "${1}****${2}"), "${1}***@")
}
