package classify

import (
	"strings"
	"unicode/utf8"
)

// Mask returns a value of type t as a display mask shows it (digest §7.3): ID numbers
// first 3 and last 4, phones 3 + 4, bank cards 6 + 4, names the surname, addresses to
// the district, e-mails the first character and the domain, plates province, letter and
// last character, documents first 1 and last 3, IPs to /24; credentials never.
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
	switch t {
	case IDCardType, DamagedType:
		return keep(3, 4)
	case MobileType:
		return keep(3, 4)
	case LandlineType:
		return keep(4, 2)
	case BankCardType:
		return keep(6, 4)
	case NameType:
		for _, c := range compoundSurnames {
			if strings.HasPrefix(v, c) {
				return c + strings.Repeat("*", max(1, utf8.RuneCountInString(v)-2))
			}
		}
		return keep(1, 0)
	case AddressType:
		for _, m := range []string{"区", "县", "旗", "市"} {
			if i := strings.Index(v, m); i >= 0 {
				head := v[:i+len(m)]
				return head + "********" // a fixed length hides the rest's length too
			}
		}
		return keep(3, 0)
	case EmailType:
		if at := strings.LastIndexByte(v, '@'); at > 0 {
			return string(r[0]) + "***" + v[at:]
		}
	case PlateType, VINType:
		return keep(2, 1)
	case PassportType, PermitType, HKIDType, TWIDType, IMEIType, MACType:
		return keep(1, 3)
	case IPType:
		if i := strings.LastIndexByte(v, '.'); i > 0 && strings.Count(v, ".") == 3 {
			return v[:i] + ".*"
		}
		return keep(4, 0)
	case GPSType, BirthType:
		return keep(4, 0)
	case CredentialTyp:
		return "******"
	}
	return keep(1, 1)
}

// MaskRows masks the cells of sample rows (in column order) whose column holds personal
// data, by the column's highest-graded type.
func MaskRows(cols []Column, rows [][]string) [][]string {
	types := make([]Type, len(cols))
	for i, c := range cols {
		best := 1
		for _, f := range c.Findings {
			if f.Grade >= 2 && f.Grade >= best || f.Type == CredentialTyp {
				types[i], best = f.Type, f.Grade
			}
		}
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
