package party

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/dxexchange/dx"
)

// A token secret reads "dx_<token id>.<43 characters>": the ID finds the stored hash, the
// random part is what proves possession.
const secretPrefix = "dx_"

func newSecret(tokenID string) (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	secret = secretPrefix + tokenID + "." + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// parseSecret returns the token ID inside secret, or false if secret is malformed.
func parseSecret(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return "", false
	}
	id, random, ok := strings.Cut(rest, ".")
	if !ok || len(random) != 43 || !dx.ValidID(dx.PrefixToken, id) {
		return "", false
	}
	return id, true
}

func secretMatches(secret string, hash []byte) bool {
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}
