package fiberbearer

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// httpRequest returns the *http.Request net/http would make of c's
// request, for the core. Its strings are copies, as the core may keep some
// (the token, in its cache) after fasthttp reuses its buffers: all of them
// in one allocation, with one for all header values' slices. The body is
// left out; the core never reads it.
func httpRequest(c fiber.Ctx) (*http.Request, error) {
	fc := c.RequestCtx()
	rh := &fc.Request.Header
	size, count := len(fc.RequestURI())+len(fc.Host())+len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%zone]:65535"), 0
	for name, value := range rh.All() {
		if !isHost(name) {
			size += len(name) + len(value)
			count++
		}
	}
	var b strings.Builder
	b.Grow(size)
	b.Write(fc.RequestURI())
	b.Write(fc.Host())
	names := make([]int, 0, 16) // the ends of each name and value in b
	for name, value := range rh.All() {
		if !isHost(name) {
			b.Write(name)
			b.Write(value)
			names = append(names, b.Len()-len(value), b.Len())
		}
	}
	writeAddr(&b, fc.RemoteAddr())
	s := b.String()

	requestURI := s[:len(fc.RequestURI())]
	u, err := url.ParseRequestURI(requestURI)
	if err != nil {
		return nil, errBadRequestURI
	}
	host := s[len(requestURI) : len(requestURI)+len(fc.Host())]
	header := make(http.Header, count)
	values := make([]string, count)
	start := len(requestURI) + len(host)
	for i := 0; i < len(names); i += 2 {
		name, value := http.CanonicalHeaderKey(s[start:names[i]]), s[names[i]:names[i+1]]
		start = names[i+1]
		if existing := header[name]; existing != nil {
			header[name] = append(existing, value)
			continue
		}
		values[i/2] = value
		header[name] = values[i/2 : i/2+1 : i/2+1]
	}
	r := &http.Request{
		Method:     c.Method(), // one of Fiber's constants
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Body:       http.NoBody,
		Host:       host,
		RemoteAddr: s[start:],
		RequestURI: requestURI,
		TLS:        fc.TLSConnectionState(),
	}
	return r.WithContext(c.Context()), nil
}

// isHost reports whether name is Host, which net/http keeps in
// Request.Host, not in the header.
func isHost(name []byte) bool {
	return len(name) == 4 && strings.EqualFold(string(name), "Host")
}

// writeAddr writes addr as net.Addr.String would, without allocating for a
// TCP address.
func writeAddr(b *strings.Builder, addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		if addr != nil {
			b.WriteString(addr.String())
		}
		return
	}
	ap := tcp.AddrPort()
	var buf [64]byte
	b.Write(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(buf[:0]))
}
