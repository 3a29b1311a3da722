package classify

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// hints are the header words that name a type (digest §4.6): Chinese keywords, English
// tokens, full pinyin, pinyin initials.
type hint struct {
	zh, en, pinyin, initials []string
}

var hints = map[Type]hint{
	IDCardType:    {zh: []string{"身份证", "身份证号", "公民身份号码", "证件号码", "证件号", "居住证", "永居证", "永久居留"}, en: []string{"idcard", "id_card", "id_no", "idno", "cert_no", "identity_no", "national_id", "identity"}, pinyin: []string{"shenfenzheng"}, initials: []string{"sfz", "sfzh", "sfzhm", "zjhm", "zjh", "gmsfhm", "jzz", "yjz"}},
	USCCType:      {zh: []string{"统一社会信用代码", "信用代码", "纳税人识别号", "税号"}, en: []string{"uscc", "credit_code", "tax_id"}, initials: []string{"tyshxydm", "xydm", "nsrsbh"}},
	OrgCodeType:   {zh: []string{"组织机构代码"}, en: []string{"org_code"}, initials: []string{"zzjgdm"}},
	RegNoType:     {zh: []string{"注册号", "工商注册号", "营业执照号"}, en: []string{"reg_no", "registration_no", "license_no"}, initials: []string{"zch", "gszch", "yyzzh"}},
	MobileType:    {zh: []string{"手机", "手机号", "移动电话", "联系电话", "电话"}, en: []string{"mobile", "phone", "cellphone", "tel", "msisdn"}, pinyin: []string{"shouji"}, initials: []string{"sjh", "sj", "lxdh", "dh"}},
	LandlineType:  {zh: []string{"固定电话", "座机", "办公电话", "电话"}, en: []string{"landline", "telephone", "office_phone", "tel", "phone"}, initials: []string{"gddh"}},
	BankCardType:  {zh: []string{"银行卡号", "卡号", "银行账号", "账号", "开户账号", "信用卡"}, en: []string{"card_no", "bank_card", "account_no", "acct_no", "pan"}, initials: []string{"yhkh", "kh", "yhzh", "zh"}},
	IMEIType:      {zh: []string{"设备号", "设备标识"}, en: []string{"imei", "device_id"}, initials: []string{"sbh"}},
	PassportType:  {zh: []string{"护照", "护照号"}, en: []string{"passport", "passport_no"}, pinyin: []string{"huzhao"}, initials: []string{"hz", "hzh", "hzhm"}},
	PermitType:    {zh: []string{"通行证", "港澳通行证", "回乡证", "台胞证"}, en: []string{"permit_no", "travel_permit"}, initials: []string{"txz", "txzh", "hxz", "tbz"}},
	HKIDType:      {zh: []string{"香港身份证"}, en: []string{"hkid", "hk_id"}, initials: []string{"xgsfz"}},
	TWIDType:      {zh: []string{"台湾身份证"}, en: []string{"twid", "tw_id"}, initials: []string{"twsfz"}},
	PlateType:     {zh: []string{"车牌", "车牌号", "号牌号码"}, en: []string{"plate", "plate_no", "license_plate", "vehicle_no"}, pinyin: []string{"chepai"}, initials: []string{"cph", "hphm"}},
	VINType:       {zh: []string{"车架号", "车辆识别代号"}, en: []string{"vin", "frame_no", "chassis_no"}, initials: []string{"cjh", "clsbdh"}},
	EmailType:     {zh: []string{"邮箱", "电子邮件", "邮件地址"}, en: []string{"email", "e_mail", "mail"}, pinyin: []string{"youxiang"}, initials: []string{"yx", "dzyx"}},
	IPType:        {zh: []string{"IP地址", "登录IP"}, en: []string{"ip", "ip_addr", "client_ip", "remote_addr"}, initials: []string{"dlip"}},
	MACType:       {zh: []string{"MAC地址"}, en: []string{"mac"}},
	GPSType:       {zh: []string{"经纬度", "坐标", "位置", "定位"}, en: []string{"gps", "coord", "location", "lnglat", "latlng"}, initials: []string{"zb"}},
	BirthType:     {zh: []string{"出生日期", "生日", "出生年月"}, en: []string{"birth", "birthday", "birth_date", "dob"}, pinyin: []string{"shengri"}, initials: []string{"csrq", "sr"}},
	GenderType:    {zh: []string{"性别"}, en: []string{"gender", "sex"}, initials: []string{"xb"}},
	EthnicityType: {zh: []string{"民族"}, en: []string{"ethnicity", "ethnic", "nation"}, initials: []string{"mz"}},
	NameType:      {zh: []string{"姓名", "名字", "联系人", "收件人", "法人", "患者姓名", "客户姓名"}, en: []string{"name", "real_name", "full_name", "cust_name", "contact", "receiver"}, pinyin: []string{"xingming"}, initials: []string{"xm", "lxr", "sjr"}},
	AddressType:   {zh: []string{"地址", "住址", "户籍地址", "居住地址", "家庭住址", "收货地址"}, en: []string{"address", "addr", "home_address", "residence", "street"}, pinyin: []string{"dizhi"}, initials: []string{"dz", "zz", "jzdz", "hjdz", "jtzz", "shdz"}},
	CredentialTyp: {zh: []string{"密码", "口令", "验证码", "密钥", "令牌"}, en: []string{"password", "passwd", "pwd", "secret", "token", "otp", "cvv", "private_key", "api_key"}, pinyin: []string{"mima"}, initials: []string{"mm"}},
}

// ambiguous pinyin initials get a lower prior; content decides.
var ambiguous = map[string]bool{"xm": true, "dz": true, "mz": true, "jd": true, "wd": true, "hz": true, "kh": true, "zh": true, "zj": true, "sr": true, "bz": true, "dh": true, "sj": true, "zz": true, "yx": true, "zb": true, "mm": true}

// antiHints mark surrogate keys, order numbers and timestamps: they set the prior to 0.
var antiHints = struct{ zh, en []string }{
	zh: []string{"订单号", "流水号", "交易号", "单号", "批次", "版本", "时间戳", "创建时间", "编号"},
	en: []string{"order_no", "order_id", "trade_no", "serial_no", "seq", "sku", "batch", "version", "timestamp", "ts", "created_at", "uuid", "md5"},
}

// tokens splits a header into lower-case tokens on _ - . space, camelCase and digit
// boundaries, and also returns the joined forms of adjacent tokens ("id_card").
func tokens(h string) []string {
	var parts []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prev := rune(0)
	for _, r := range h {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ' || r == '/':
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev), unicode.IsDigit(r) != unicode.IsDigit(prev) && prev != 0:
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	out := append([]string(nil), parts...)
	for i := 0; i+1 < len(parts); i++ {
		out = append(out, parts[i]+"_"+parts[i+1])
	}
	return out
}

// HeaderPrior is the prior that a column named header holds typ (digest §6.2): an exact
// Chinese keyword or English token 0.9, full pinyin 0.8, a Chinese keyword inside the
// header 0.7, pinyin initials 0.5 (0.4 if ambiguous), an anti-hint 0.
func HeaderPrior(header string, typ Type) float64 {
	h := norm.NFKC.String(strings.TrimSpace(header))
	lower := strings.ToLower(h)
	for _, a := range antiHints.zh {
		if strings.Contains(h, a) {
			return 0
		}
	}
	toks := tokens(h)
	for _, a := range antiHints.en {
		for _, t := range toks {
			if t == a {
				return 0
			}
		}
	}
	hi, ok := hints[typ]
	if !ok {
		return 0
	}
	best := 0.0
	up := func(x float64) {
		if x > best {
			best = x
		}
	}
	for _, k := range hi.zh {
		if h == k || lower == strings.ToLower(k) {
			up(0.9)
		} else if strings.Contains(lower, strings.ToLower(k)) {
			up(0.7)
		}
	}
	for _, t := range toks {
		for _, k := range hi.en {
			if t == k {
				up(0.9)
			}
		}
		for _, k := range hi.pinyin {
			if t == k {
				up(0.8)
			}
		}
		for _, k := range hi.initials {
			if t == k {
				if ambiguous[k] {
					up(0.4)
				} else {
					up(0.5)
				}
			}
		}
	}
	return best
}
