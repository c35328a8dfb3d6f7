package bearer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// HMACNonces returns a NonceSource whose nonces carry their time of issue
// and a MAC over it: nothing is stored, and every instance sharing secret
// accepts every other's nonces. A nonce is valid for lifetime from its
// issue on the middleware's clock (WithClock), and refused when it was
// issued more than a second ahead of it (by an instance whose clock runs
// ahead). With a nil secret a random one is made, for a single instance.
func HMACNonces(secret []byte, lifetime time.Duration) NonceSource {
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	return &hmacNonces{secret: append([]byte(nil), secret...), lifetime: lifetime}
}

type hmacNonces struct {
	secret   []byte
	lifetime time.Duration
}

const nonceMACSize = 16

func (n *hmacNonces) Nonce(now time.Time) string {
	var b [8 + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix()))
	copy(b[8:], n.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (n *hmacNonces) Valid(nonce string, now time.Time) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACSize || !hmac.Equal(b[8:], n.mac(b[:8])) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return !issued.After(now.Add(time.Second)) && now.Sub(issued) <= n.lifetime
}

func (n *hmacNonces) mac(stamp []byte) []byte {
	h := hmac.New(sha256.New, n.secret)
	h.Write(stamp)
	return h.Sum(nil)[:nonceMACSize]
}
