// Package classify finds personal and sensitive data in tables and proposes grades
// under GB/T 43697-2024 and PIPL: value detectors for Chinese identifiers validated by
// checksum where one exists, column-header hints in Chinese, English and pinyin, a
// column decision on a sample with per-strength thresholds and a confidence, and a
// dataset-level proposal with its reasons. It is pure: values in, findings out.
package classify

import (
	"math/bits"
	"net"
	"net/mail"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Type is a kind of data a column can hold.
type Type string

// The detected types.
const (
	IDCardType    Type = "id_card"        // 居民身份证, 居住证, 永居证 (18, or 15 digits upgraded)
	USCCType      Type = "uscc"           // 统一社会信用代码
	OrgCodeType   Type = "org_code"       // 组织机构代码
	RegNoType     Type = "reg_no"         // 15-digit 工商注册号 (header only)
	MobileType    Type = "mobile"         // 手机号
	LandlineType  Type = "landline"       // 固定电话
	BankCardType  Type = "bank_card"      // 银行卡号
	IMEIType      Type = "imei"           // 设备 IMEI
	PassportType  Type = "passport"       // 护照 (header only)
	PermitType    Type = "travel_permit"  // 港澳台通行证, 回乡证 (header only)
	HKIDType      Type = "hk_id"          // 香港身份证
	TWIDType      Type = "tw_id"          // 台湾身份证
	PlateType     Type = "plate"          // 车牌
	VINType       Type = "vin"            // 车辆识别代号
	EmailType     Type = "email"          // 电子邮箱
	IPType        Type = "ip"             // IPv4 / IPv6
	MACType       Type = "mac"            // MAC 地址
	GPSType       Type = "gps"            // 经纬度 in China
	BirthType     Type = "birth_date"     // 出生日期 (header only)
	GenderType    Type = "gender"         // 性别
	EthnicityType Type = "ethnicity"      // 民族
	NameType      Type = "person_name"    // 姓名 (weak)
	AddressType   Type = "address"        // 地址 (weak)
	CredentialTyp Type = "credential"     // 密码, 令牌 … (refused)
	MaskedType    Type = "masked"         // already masked PI (still PI)
	DamagedType   Type = "damaged_number" // an identifier broken by a spreadsheet (still PI)
	FreeTextType  Type = "free_text_pi"   // free text holding identifiers (备注里的身份证号、手机号…)
)

// Strength says how much a value match proves (digest §4.2).
type Strength string

// The strengths.
const (
	Strong     Strength = "strong"      // checksum + structure
	Medium     Strength = "medium"      // tight format + semantic checks
	Weak       Strength = "weak"        // shape or dictionary; needs the header
	HeaderOnly Strength = "header_only" // only with a header naming it
)

// detector tests one normalised value: match is the format, valid the checksum or
// semantic check.
type detector struct {
	typ      Type
	strength Strength
	test     func(v string, now time.Time) (match, valid bool)
}

var (
	rePassport = regexp.MustCompile(`^(?:E[0-9A-HJ-NP-Z]\d{7}|[GDSP]\d{8}|[DSP]E\d{7}|1[45]\d{7}|K\d{8}|KJ\d{7}|MA\d{7})$`)
	rePermit   = regexp.MustCompile(`^(?:[HM]\d{8}(?:\d{2})?|C[0-9A-HJ-NP-Z]\d{7}|W\d{8}|[LT]\d{8})$`)
	reHKID     = regexp.MustCompile(`^[A-Z]{1,2}\d{6}\(?[0-9A]\)?$`)
	reBirth    = regexp.MustCompile(`^((?:19|20)\d{2})[-/.年]?(0?[1-9]|1[0-2])[-/.月]?(0?[1-9]|[12]\d|3[01])日?$`)
	reNameDot  = regexp.MustCompile(`^\p{Han}{1,6}·\p{Han}{1,8}$`)
	reMasked   = regexp.MustCompile(`^(?:\d{1,6}\*{4,16}[\dXx]{1,4}|1\d{2}\*{4}\d{4}|\p{Han}{1,2}[*＊]{1,3}|\d{4,6}\*{4,12}\d{4})$`)
	reExcelSci = regexp.MustCompile(`^[1-9](?:\.\d{1,14})?[Ee]\+?1\d$`)
	reJWT      = regexp.MustCompile(`^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*$`)
	reBcrypt   = regexp.MustCompile(`^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$`)
	reAK       = regexp.MustCompile(`^LTAI[0-9A-Za-z]{12,20}$`)
)

// mobileSegments are the allocated second and third digits of mainland mobiles
// (13x, 145–149, 150–153/155–159, 162/165–167, 170–178, 18x, 190–193/195–199).
var mobileSegments = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields("30 31 32 33 34 35 36 37 38 39 45 46 47 48 49 50 51 52 53 55 56 57 58 59 62 65 66 67 70 71 72 73 74 75 76 77 78 80 81 82 83 84 85 86 87 88 89 90 91 92 93 95 96 97 98 99") {
		m[p] = true
	}
	return m
}()

var genders = set("男", "女", "男性", "女性", "M", "F", "MALE", "FEMALE")

var ethnicities = set("汉", "壮", "回", "满", "维吾尔", "苗", "彝", "土家", "藏", "蒙古", "侗", "布依", "瑶", "白", "朝鲜", "哈尼", "黎", "哈萨克",
	"傣", "畲", "傈僳", "东乡", "仡佬", "拉祜", "佤", "水", "纳西", "羌", "土", "仫佬", "锡伯", "柯尔克孜", "景颇", "达斡尔", "撒拉", "布朗",
	"毛南", "塔吉克", "普米", "阿昌", "怒", "鄂温克", "京", "基诺", "德昂", "保安", "俄罗斯", "裕固", "乌孜别克", "门巴", "鄂伦春", "独龙",
	"赫哲", "高山", "珞巴", "塔塔尔")

// surnames are common single-character 百家姓 surnames; compound ones are checked apart.
var surnames = set(strings.Split("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝", "")...)

var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "宇文", "司徒", "夏侯", "公孙", "轩辕", "澹台", "端木", "西门", "南宫", "独孤"}

// nameStop are endings that make a 2–4 character Han string an organisation, place or
// thing rather than a person.
var nameStop = []string{"公司", "集团", "银行", "医院", "学校", "中心", "大学", "局", "委", "店", "厂", "部", "省", "市", "区", "县", "镇", "村", "路", "街", "经理", "总监", "主任", "科", "所", "站", "园", "馆"}

var addressMarkers = []string{"路", "街", "巷", "弄", "道", "号", "栋", "幢", "座", "单元", "层", "室", "村", "组"}

// addressMarker returns the bit of the marker that rune r (after prev) completes in
// addressMarkers' order, or 0.
func addressMarker(r, prev rune) uint16 {
	switch r {
	case '路':
		return 1 << 0
	case '街':
		return 1 << 1
	case '巷':
		return 1 << 2
	case '弄':
		return 1 << 3
	case '道':
		return 1 << 4
	case '号':
		return 1 << 5
	case '栋':
		return 1 << 6
	case '幢':
		return 1 << 7
	case '座':
		return 1 << 8
	case '元':
		if prev == '单' {
			return 1 << 9
		}
	case '层':
		return 1 << 10
	case '室':
		return 1 << 11
	case '村':
		return 1 << 12
	case '组':
		return 1 << 13
	}
	return 0
}

var provinceNames = []string{"北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南",
	"湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门"}

// provinceFirst holds the first characters of the province names (a cheap prefilter).
var provinceFirst = func() map[rune]bool {
	m := map[rune]bool{}
	for _, p := range provinceNames {
		r, _ := utf8.DecodeRuneInString(p)
		m[r] = true
	}
	return m
}()

func set(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}

var detectors = []detector{
	{IDCardType, Strong, func(v string, now time.Time) (bool, bool) {
		if len(v) == 15 && digits(v) {
			up := UpgradeID15(v)
			return up != "", up != "" && validID(up, now)
		}
		if len(v) != 18 || !digits(v[:17]) {
			return false, false
		}
		return true, validID(v, now)
	}},
	{USCCType, Strong, func(v string, _ time.Time) (bool, bool) {
		if len(v) != 18 || digits(v) {
			return false, false
		}
		return true, USCC(v)
	}},
	{OrgCodeType, Strong, func(v string, _ time.Time) (bool, bool) {
		if !(len(v) == 10 && v[8] == '-') {
			return false, false
		}
		return true, OrgCode(v)
	}},
	{RegNoType, HeaderOnly, func(v string, _ time.Time) (bool, bool) { return len(v) == 15 && digits(v), RegNo15(v) }},
	{MobileType, Medium, func(v string, _ time.Time) (bool, bool) {
		v = stripPhone(v)
		if len(v) != 11 || v[0] != '1' || v[1] < '3' || !digits(v) {
			return false, false
		}
		return true, mobileSegments[v[1:3]]
	}},
	{LandlineType, Medium, func(v string, _ time.Time) (bool, bool) {
		if serviceNumber(v) {
			return false, false
		}
		return landline(v)
	}},
	{BankCardType, Strong, func(v string, _ time.Time) (bool, bool) {
		v = dropSpaceDash.Replace(v)
		if len(v) < 16 || len(v) > 19 || !digits(v) || v[0] == '0' {
			return false, false
		}
		return true, Luhn(v)
	}},
	{IMEIType, HeaderOnly, func(v string, _ time.Time) (bool, bool) { return len(v) == 15 && digits(v), Luhn(v) }},
	{PassportType, HeaderOnly, func(v string, _ time.Time) (bool, bool) { m := rePassport.MatchString(v); return m, m }},
	{PermitType, HeaderOnly, func(v string, _ time.Time) (bool, bool) { m := rePermit.MatchString(v); return m, m }},
	{HKIDType, Strong, func(v string, _ time.Time) (bool, bool) { return reHKID.MatchString(v), HKID(v) }},
	{TWIDType, Strong, func(v string, _ time.Time) (bool, bool) {
		return len(v) == 10 && v[0] >= 'A' && v[0] <= 'Z' && digits(v[1:]) && strings.ContainsRune("1289", rune(v[1])), TaiwanID(v)
	}},
	{PlateType, Medium, func(v string, _ time.Time) (bool, bool) {
		v = dropDots.Replace(v)
		m := plate(v)
		return m, m
	}},
	{VINType, Strong, func(v string, _ time.Time) (bool, bool) { return vinFormat(v), VIN(v) }},
	{EmailType, Medium, func(v string, _ time.Time) (bool, bool) {
		if !emailFormat(v) {
			return false, false
		}
		_, err := mail.ParseAddress(v)
		return true, err == nil
	}},
	{IPType, Medium, func(v string, _ time.Time) (bool, bool) {
		if strings.Count(v, ".") != 3 && !strings.Contains(v, ":") {
			return false, false
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false, false
		}
		// version strings are small-octet IPv4s: only a well-spread address counts
		if a.Is4() {
			b := a.As4()
			return true, int(b[0])+int(b[1])+int(b[2])+int(b[3]) > 40
		}
		return true, true
	}},
	{MACType, Medium, func(v string, _ time.Time) (bool, bool) {
		if len(v) != 17 && len(v) != 14 {
			return false, false
		}
		_, err := net.ParseMAC(v)
		return err == nil, err == nil
	}},
	{GPSType, Medium, func(v string, _ time.Time) (bool, bool) {
		x, y, ok := latLng(v)
		if !ok {
			return false, false
		}
		inBox := func(lng, lat float64) bool { return lng >= 73.5 && lng <= 135.1 && lat >= 3.8 && lat <= 53.6 }
		return true, inBox(x, y) || inBox(y, x)
	}},
	{BirthType, HeaderOnly, func(v string, now time.Time) (bool, bool) {
		m := reBirth.FindStringSubmatch(v)
		if m == nil {
			return false, false
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		return true, t.Day() == d && !t.After(now) && y >= 1900
	}},
	{GenderType, Weak, func(v string, _ time.Time) (bool, bool) { m := genders[strings.ToUpper(v)]; return m, m }},
	{EthnicityType, Weak, func(v string, _ time.Time) (bool, bool) {
		m := ethnicities[strings.TrimSuffix(v, "族")] && (strings.HasSuffix(v, "族") || utf8.RuneCountInString(v) >= 2)
		return m, m
	}},
	{NameType, Weak, func(v string, _ time.Time) (bool, bool) {
		if !hanName(v) && !reNameDot.MatchString(v) {
			return false, false
		}
		for _, s := range nameStop {
			if strings.HasSuffix(v, s) {
				return true, false
			}
		}
		for _, c := range compoundSurnames {
			if strings.HasPrefix(v, c) && utf8.RuneCountInString(v) >= 3 {
				return true, true
			}
		}
		first, _ := utf8.DecodeRuneInString(v)
		return true, surnames[string(first)]
	}},
	{AddressType, Weak, func(v string, _ time.Time) (bool, bool) {
		first, _ := utf8.DecodeRuneInString(v)
		prefix := false
		if provinceFirst[first] {
			for _, p := range provinceNames {
				if strings.HasPrefix(v, p) {
					prefix = true
					break
				}
			}
		}
		// One pass: length, address markers (路 街 … 单元 …) and administrative units.
		runes, admin := 0, false
		var seen uint16 // one bit per marker
		prev := rune(0)
		for _, r := range v {
			runes++
			if bit := addressMarker(r, prev); bit != 0 {
				seen |= bit
			}
			switch r {
			case '省', '市', '区', '县', '旗', '镇', '乡':
				admin = true
			}
			prev = r
		}
		markers := bits.OnesCount16(seen)
		if runes < 6 {
			return false, false
		}
		return prefix || admin, (prefix || admin) && markers >= 1
	}},
	{CredentialTyp, HeaderOnly, func(v string, _ time.Time) (bool, bool) {
		m := reJWT.MatchString(v) || reBcrypt.MatchString(v) || reAK.MatchString(v)
		return true, m || len(v) >= 6
	}},
	{MaskedType, Medium, func(v string, _ time.Time) (bool, bool) { m := reMasked.MatchString(v); return m, m }},
	{DamagedType, Medium, func(v string, _ time.Time) (bool, bool) { m := reExcelSci.MatchString(v); return m, m }},
}

func validID(v string, now time.Time) bool {
	_, ok := IDCard(v, now, true)
	return ok
}

var (
	dropSpaceDash = strings.NewReplacer(" ", "", "-", "")
	dropDots      = strings.NewReplacer("·", "", "•", "", " ", "")
)

// stripPhone removes separators and a +86/0086/86 country code before an 11-digit mobile.
func stripPhone(v string) string {
	v = dropSpaceDash.Replace(v)
	for _, p := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(v, p); ok && len(rest) == 11 {
			return rest
		}
	}
	return v
}

// placeholders are values that mean "empty".
// maxPlaceholder is the longest placeholder, in bytes (longer values skip the lookup).
const maxPlaceholder = 6

// allZeros reports whether v is empty or only '0's.
func allZeros(v string) bool {
	for i := range len(v) {
		if v[i] != '0' {
			return false
		}
	}
	return true
}

var placeholders = set("", "-", "--", "/", "无", "空", "未知", "不详", "NULL", "null", "N/A", "NA", "n/a", "None", "none")

// Normalize returns the form detectors match (digest §4.1): NFKC (full-width to ASCII),
// zero-width characters removed, spreadsheet artefacts stripped, trimmed, an 18-digit
// ID's trailing x upper-cased; "" for placeholders.
func Normalize(v string) string {
	if len(v) > MaxCell {
		v = v[:MaxCell]
	}
	if !ascii(v) && !asciiOrHan(v) { // ASCII and CJK unified ideographs are stable under NFKC
		if w, ok := foldWidth(v); ok {
			v = w // full-width ASCII and the ideographic space: NFKC's mapping, done directly
		} else if !norm.NFKC.IsNormalString(v) {
			v = norm.NFKC.String(v)
		}
		if strings.ContainsAny(v, "\u200b\u200c\u200d\ufeff") {
			v = strings.Map(func(r rune) rune {
				switch r {
				case '\u200b', '\u200c', '\u200d', '\ufeff':
					return -1
				}
				return r
			}, v)
		}
	}
	v = strings.TrimSpace(v)
	if inner, ok := strings.CutPrefix(v, `="`); ok && strings.HasSuffix(inner, `"`) {
		v = strings.TrimSuffix(inner, `"`)
	}
	for len(v) > 0 && (v[0] == '\'' || v[0] == '\t') {
		v = v[1:]
	}
	if len(v) == 18 && (v[17] == 'x') {
		v = v[:17] + "X"
	}
	if len(v) <= maxPlaceholder && placeholders[v] || allZeros(v) {
		return ""
	}
	return v
}

// MaxCell is how much of a cell the detectors look at (longer cells are free text).
const MaxCell = 256

// shape is what cheap checks learn of a value once, so that detectors whose format it
// cannot have are skipped (most values fit one or two).
type shape struct {
	bytes, runes, digits, upper, lower int
	han, at, star, ascii, sep, dash    bool
	dots, colons                       int
	first                              byte
}

func shapeOf(v string) shape {
	s := shape{bytes: len(v), ascii: true}
	if v != "" {
		s.first = v[0]
	}
	for _, r := range v {
		s.runes++
		switch {
		case r >= '0' && r <= '9':
			s.digits++
		case r >= 'A' && r <= 'Z':
			s.upper++
		case r >= 'a' && r <= 'z':
			s.lower++
		case r == '.':
			s.dots++
		case r == ':':
			s.colons++
		case r == '@':
			s.at = true
		case r == '*' || r == '＊':
			s.star = true
		case r == ',' || r == ' ' || r == '，':
			s.sep = true
		case r == '-':
			s.dash = true
		case r >= 0x4e00:
			s.han = true
		}
		if r >= 0x80 {
			s.ascii = false
		}
	}
	return s
}

// candidate reports whether a value of shape s can match detector t at all.
func candidate(t Type, s *shape) bool { return candidateOf(kindOf[t], s) }

// Shape-check kinds: candidate's switch on small integers rather than type names (it
// runs for every value and detector).
const (
	kIDCardType = iota + 1
	kUSCCType
	kOrgCodeType
	kRegNoType
	kIMEIType
	kMobileType
	kLandlineType
	kBankCardType
	kPassportType
	kPermitType
	kHKIDType
	kTWIDType
	kPlateType
	kVINType
	kEmailType
	kIPType
	kMACType
	kGPSType
	kBirthType
	kGenderType
	kEthnicityType
	kNameType
	kAddressType
	kMaskedType
	kDamagedType
)

// kindOf maps a type to its shape-check kind; kinds[di] is detector di's.
var (
	kindOf = map[Type]int{IDCardType: kIDCardType, USCCType: kUSCCType, OrgCodeType: kOrgCodeType, RegNoType: kRegNoType, IMEIType: kIMEIType, MobileType: kMobileType, LandlineType: kLandlineType, BankCardType: kBankCardType, PassportType: kPassportType, PermitType: kPermitType, HKIDType: kHKIDType, TWIDType: kTWIDType, PlateType: kPlateType, VINType: kVINType, EmailType: kEmailType, IPType: kIPType, MACType: kMACType, GPSType: kGPSType, BirthType: kBirthType, GenderType: kGenderType, EthnicityType: kEthnicityType, NameType: kNameType, AddressType: kAddressType, MaskedType: kMaskedType, DamagedType: kDamagedType}
	kinds  = func() []int {
		out := make([]int, len(detectors))
		for di, d := range detectors {
			out[di] = kindOf[d.typ]
		}
		return out
	}()
)

// candidateOf is the cheap shape check of a kind: can a value of this shape have the
// type's format at all?
func candidateOf(k int, s *shape) bool {
	switch k {
	case kIDCardType:
		return (s.bytes == 15 || s.bytes == 18) && s.digits >= 15
	case kUSCCType:
		return s.bytes == 18 && s.ascii && s.digits < 18
	case kOrgCodeType:
		return s.bytes == 10 && s.ascii
	case kRegNoType, kIMEIType:
		return s.bytes == 15 && s.digits == 15
	case kMobileType:
		return s.ascii && s.digits >= 11 && s.bytes <= 17 && s.upper+s.lower == 0
	case kLandlineType:
		return s.ascii && s.digits >= 7 && s.bytes <= 20 && s.upper+s.lower == 0 && (s.digits <= 12 || s.dash) && !(s.bytes == 11 && s.digits == 11 && s.first == '1')
	case kBankCardType:
		return s.ascii && s.digits >= 16 && s.bytes <= 23 && s.upper+s.lower == 0
	case kPassportType, kPermitType, kHKIDType, kTWIDType:
		return s.ascii && s.bytes >= 8 && s.bytes <= 12 && s.upper >= 1 && s.digits >= 6
	case kPlateType:
		return s.han && s.runes >= 7 && s.runes <= 9
	case kVINType:
		return s.bytes == 17 && s.ascii && s.lower == 0
	case kEmailType:
		return s.at
	case kIPType:
		return s.ascii && (s.dots == 3 || s.colons >= 2)
	case kMACType:
		return s.ascii && (s.bytes == 14 || s.bytes == 17)
	case kGPSType:
		return s.ascii && s.dots >= 2 && s.sep || s.dots >= 2 && !s.ascii && s.sep
	case kBirthType:
		return s.digits >= 6 && s.runes <= 12
	case kGenderType:
		return s.runes <= 6
	case kEthnicityType:
		return s.han && s.runes <= 5
	case kNameType:
		return s.han && s.runes >= 2 && s.runes <= 9
	case kAddressType:
		return s.han && s.runes >= 6
	case kMaskedType:
		return s.star
	case kDamagedType:
		return s.dots == 1 && s.bytes <= 20 && (s.upper == 1 || s.lower == 1)
	}
	return true
}

func ascii(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hanName reports whether v is 2–4 Han characters (what ^\p{Han}{2,4}$ matches).
func hanName(v string) bool {
	n := 0
	for _, r := range v {
		if !isHan(r) {
			return false
		}
		n++
	}
	return n >= 2 && n <= 4
}

// isHan is unicode.Is(unicode.Han, r) with the common CJK block checked first.
func isHan(r rune) bool {
	return r >= 0x4e00 && r <= 0x9fff || r >= 0x80 && unicode.Is(unicode.Han, r)
}

// vinChar[c] is set for the characters a VIN may hold (digits and letters but I, O, Q).
var vinChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = c != 'I' && c != 'O' && c != 'Q'
	}
	return t
}()

// vinFormat is ^[A-HJ-NPR-Z0-9]{8}[0-9X][A-HJ-NPR-Z0-9]{8}$ without a regexp.
func vinFormat(v string) bool {
	if len(v) != 17 {
		return false
	}
	for i := range 17 {
		if i == 8 {
			if !isDigit(v[i]) && v[i] != 'X' {
				return false
			}
		} else if !vinChar[v[i]] {
			return false
		}
	}
	return true
}

// emailFormat is ^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$
// without a regexp.
func emailFormat(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return false
	}
	for i := range at {
		c := v[i]
		if !(isAlnum(c) || strings.IndexByte("._%+-", c) >= 0) {
			return false
		}
	}
	domain := v[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || len(domain)-dot-1 < 2 {
		return false
	}
	for i := dot + 1; i < len(domain); i++ {
		if c := domain[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	label := 0
	for i := range dot {
		c := domain[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case isAlnum(c) || c == '-':
			label++
		default:
			return false
		}
	}
	return label > 0
}

func isAlnum(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' }

// plateProvinces are the province abbreviations that start a plate.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// plate is the plate regexp without one: a province, a letter (no I or O), then five
// characters (ordinary, with 挂学警港澳领 last) or six (new energy: D/F…K first or last).
func plate(v string) bool {
	p, size := utf8.DecodeRuneInString(v)
	if size < 3 || !strings.ContainsRune(plateProvinces, p) {
		return false
	}
	rest := v[size:]
	letter := func(c byte) bool { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' }
	alnum := func(c byte) bool { return letter(c) || isDigit(c) }
	if len(rest) < 1 || !letter(rest[0]) {
		return false
	}
	rest = rest[1:]
	energy := func(c byte) bool { return strings.IndexByte("DABCEFGHJK", c) >= 0 }
	switch {
	case len(rest) == 6 && energy(rest[0]) && alnum(rest[1]) && digits(rest[2:]):
		return true
	case len(rest) == 6 && digits(rest[:5]) && energy(rest[5]):
		return true
	case len(rest) == 5 && alnum(rest[0]) && alnum(rest[1]) && alnum(rest[2]) && alnum(rest[3]) && alnum(rest[4]):
		return true
	case len(rest) == 4+3 && alnum(rest[0]) && alnum(rest[1]) && alnum(rest[2]) && alnum(rest[3]):
		last, _ := utf8.DecodeRuneInString(rest[4:])
		return strings.ContainsRune("挂学警港澳领", last)
	}
	return false
}

// latLng reads "a.bb,c.dd" (comma, full-width comma or spaces between; at least two
// decimals each, the precision of a position rather than a region).
func latLng(v string) (float64, float64, bool) {
	i := strings.IndexAny(v, ", ，")
	if i <= 0 {
		return 0, 0, false
	}
	a := strings.TrimSpace(v[:i])
	b := strings.TrimSpace(strings.TrimLeft(v[i:], ", ，"))
	decimals := func(s string) bool {
		d := strings.IndexByte(s, '.')
		return d > 0 && d <= 4 && len(s)-d-1 >= 2
	}
	if !decimals(a) || !decimals(b) {
		return 0, 0, false
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return x, y, err1 == nil && err2 == nil
}

// byClass lists, for values with Han characters and for ASCII values, the indexes of
// the detectors that can match them; other values are tried by every detector.
var byClass = func() (han, ascii, all []int) {
	hanTypes := map[Type]bool{PlateType: true, GenderType: true, EthnicityType: true, NameType: true, AddressType: true,
		MaskedType: true, BirthType: true, GPSType: true, CredentialTyp: true, EmailType: true}
	for i, d := range detectors {
		all = append(all, i)
		if hanTypes[d.typ] {
			han = append(han, i)
		}
		switch d.typ {
		case PlateType, EthnicityType, NameType, AddressType:
		default:
			ascii = append(ascii, i)
		}
	}
	return
}

var hanDetectors, asciiDetectors, allDetectors = byClass()

// landline parses a Chinese landline number without a regexp: an optional area code
// (0 then 10, 2x or a three-digit code from 3–9, each parenthesis optional, then an
// optional - or space), a local number of 7–8 digits starting 2–9, an optional -extension
// of 1–6 digits. match is any such number, area one with the area code.
func landline(v string) (match, area bool) {
	i := 0
	if i < len(v) && (v[i] == '(' || v[i] == '0') {
		if v[i] == '(' {
			i++
		}
		if i >= len(v) || v[i] != '0' {
			return false, false
		}
		i++
		switch {
		case i+1 < len(v) && v[i] == '1' && v[i+1] == '0':
			i += 2
		case i+1 < len(v) && v[i] == '2' && isDigit(v[i+1]):
			i += 2
		case i+2 < len(v) && v[i] >= '3' && v[i] <= '9' && isDigit(v[i+1]) && isDigit(v[i+2]):
			i += 3
		default:
			return false, false
		}
		if i < len(v) && v[i] == ')' {
			i++
		}
		if i < len(v) && (v[i] == '-' || v[i] == ' ') {
			i++
		}
		area = true
	}
	if i >= len(v) || v[i] < '2' || v[i] > '9' {
		return false, false
	}
	j := i + 1
	for j < len(v) && isDigit(v[j]) {
		j++
	}
	if n := j - i; n < 7 || n > 8 {
		return false, false
	}
	if j < len(v) {
		if v[j] != '-' {
			return false, false
		}
		k := j + 1
		for k < len(v) && isDigit(v[k]) {
			k++
		}
		if k != len(v) || k-j-1 < 1 || k-j-1 > 6 {
			return false, false
		}
	}
	return true, area
}

// serviceNumber is a 400/800 service number (400-123-4567), which is not a person's.
func serviceNumber(v string) bool {
	if len(v) < 10 || (v[0] != '4' && v[0] != '8') || v[1] != '0' || v[2] != '0' {
		return false
	}
	rest := v[3:]
	take := func(n int) bool {
		if len(rest) > 0 && rest[0] == '-' {
			rest = rest[1:]
		}
		if len(rest) < n || !digits(rest[:n]) {
			return false
		}
		rest = rest[n:]
		return true
	}
	return take(3) && take(4) && rest == ""
}

// foldWidth maps full-width ASCII (U+FF01–U+FF5E) and the ideographic space (U+3000)
// to ASCII, as NFKC does; ok is false if v holds any other character outside ASCII and
// the CJK unified ideographs (then NFKC proper decides).
func foldWidth(v string) (string, bool) {
	b := make([]byte, 0, len(v))
	for _, r := range v {
		switch {
		case r < 0x80 || r >= 0x4e00 && r <= 0x9fff:
			b = utf8.AppendRune(b, r)
		case r >= 0xff01 && r <= 0xff5e:
			b = append(b, byte(r-0xff01+0x21))
		case r == 0x3000:
			b = append(b, ' ')
		default:
			return "", false
		}
	}
	return string(b), true
}

// asciiOrHan reports whether v holds only ASCII and CJK Unified Ideographs
// (U+4E00–U+9FFF), which NFKC leaves as they are.
func asciiOrHan(v string) bool {
	for _, r := range v {
		if r >= 0x80 && (r < 0x4e00 || r > 0x9fff) {
			return false
		}
	}
	return true
}
