package dx

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes, one per kind of thing.
const (
	PrefixOrg     = "org"
	PrefixMember  = "mem"
	PrefixToken   = "tok"
	PrefixAsset   = "ast"
	PrefixVersion = "ver"
	PrefixGrant   = "gnt"
	PrefixEvent   = "evt"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idMu sync.Mutex
var lastMS uint64
var lastRand [10]byte

// NewID returns a new ID such as "ast_01jd3kz...": the prefix, an underscore and 26
// characters of Crockford base32 encoding a millisecond timestamp and 80 random bits,
// monotonic within a process, so IDs sort by creation time.
func NewID(prefix string, now time.Time) string {
	idMu.Lock()
	ms := uint64(now.UnixMilli())
	var r [10]byte
	if ms <= lastMS {
		ms = lastMS
		r = lastRand
		for i := len(r) - 1; i >= 0; i-- { // increment the random part
			r[i]++
			if r[i] != 0 {
				break
			}
		}
	} else if _, err := rand.Read(r[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	lastMS, lastRand = ms, r
	idMu.Unlock()

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], r[:])
	var sb strings.Builder
	sb.Grow(len(prefix) + 27)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	// 128 bits as 26 base32 digits (the first holds 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	sb.Write(out[:])
	return sb.String()
}

// ValidID reports whether s looks like an ID with the given prefix. It guards store
// look-ups and path segments against junk; it does not say the ID exists.
func ValidID(prefix, s string) bool {
	if len(s) != len(prefix)+27 || !strings.HasPrefix(s, prefix+"_") {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return true
}
