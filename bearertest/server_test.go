package bearertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer/bearertest"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, c *http.Client, url string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func kids(t *testing.T, doc string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(doc), &set); err != nil {
		t.Fatalf("JWKS %q: %v", doc, err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.D != "" {
			t.Fatalf("private key material published: %s", doc)
		}
		out = append(out, k.Kid)
	}
	return out
}

func TestServerPublishesKeys(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	c := srv.Client()
	if srv.Issuer.Issuer() != srv.URL || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || srv.JWKSURL != srv.URL+bearertest.JWKSPath {
		t.Fatalf("URL %q, JWKSURL %q, issuer %q", srv.URL, srv.JWKSURL, srv.Issuer.Issuer())
	}

	a := fetch(t, c, srv.JWKSURL)
	first := srv.KeyID()
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/jwk-set+json" || strings.Join(kids(t, a.body), ",") != first {
		t.Fatalf("JWKS: %d %v %s", a.status, a.header, a.body)
	}
	etag := a.header.Get("ETag")
	if a := fetch(t, c, srv.JWKSURL, "If-None-Match", etag); a.status != http.StatusNotModified {
		t.Fatalf("conditional JWKS: %d, want 304", a.status)
	}

	second, err := srv.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	a = fetch(t, c, srv.JWKSURL, "If-None-Match", etag)
	if a.status != http.StatusOK || strings.Join(kids(t, a.body), ",") != first+","+second || a.header.Get("ETag") == etag {
		t.Fatalf("JWKS after Rotate: %d %s (ETag %s)", a.status, a.body, a.header.Get("ETag"))
	}
	if err := srv.Retire(first); err != nil {
		t.Fatal(err)
	}
	if a := fetch(t, c, srv.JWKSURL); strings.Join(kids(t, a.body), ",") != second {
		t.Fatalf("JWKS after Retire: %s", a.body)
	}
	if srv.Keys.Requests() != 4 || srv.Keys.NotModified() != 1 {
		t.Fatalf("%d requests, %d not modified; want 4 and 1", srv.Keys.Requests(), srv.Keys.NotModified())
	}

	a = fetch(t, c, srv.URL+bearertest.DiscoveryPath)
	var meta map[string]any
	if err := json.Unmarshal([]byte(a.body), &meta); err != nil || meta["issuer"] != srv.URL || meta["jwks_uri"] != srv.JWKSURL {
		t.Fatalf("discovery: %d %s", a.status, a.body)
	}
	if srv.Discovery.Requests() != 1 {
		t.Fatalf("%d discovery requests", srv.Discovery.Requests())
	}
}

func TestServerWithIssuer(t *testing.T) {
	srv := bearertest.NewServer(bearertest.RS256, bearertest.WithIssuer("https://idp.example"))
	defer srv.Close()
	a := fetch(t, srv.Client(), srv.URL+bearertest.DiscoveryPath)
	if !strings.Contains(a.body, `"issuer":"https://idp.example"`) {
		t.Fatalf("discovery: %s", a.body)
	}
}

func TestServerFailureModes(t *testing.T) {
	srv := bearertest.NewServer(bearertest.EdDSA)
	defer srv.Close()
	c := srv.Client()

	srv.Keys.Fail(http.StatusInternalServerError)
	srv.Keys.SetHeader("Retry-After", "30")
	a := fetch(t, c, srv.JWKSURL)
	if a.status != http.StatusInternalServerError || a.header.Get("Retry-After") != "30" || a.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(a.body, `{"error":"server_error"`) {
		t.Fatalf("Fail: %d %v %q", a.status, a.header, a.body)
	}
	srv.Keys.SetHeader("Retry-After", "")

	srv.Keys.Serve([]byte("garbage"))
	if a := fetch(t, c, srv.JWKSURL); a.status != http.StatusOK || a.body != "garbage" || a.header.Get("Retry-After") != "" {
		t.Fatalf("Serve: %d %v %q", a.status, a.header, a.body)
	}

	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	srv.Keys.Redirect("https://elsewhere.example/jwks")
	if a := fetch(t, &noRedirect, srv.JWKSURL); a.status != http.StatusFound || a.header.Get("Location") != "https://elsewhere.example/jwks" {
		t.Fatalf("Redirect: %d %v", a.status, a.header)
	}

	srv.Keys.Recover()
	if a := fetch(t, c, srv.JWKSURL); a.status != http.StatusOK || len(kids(t, a.body)) != 1 {
		t.Fatalf("Recover: %d %q", a.status, a.body)
	}
	if a := fetch(t, c, srv.URL+bearertest.DiscoveryPath); a.status != http.StatusOK {
		t.Fatalf("the discovery endpoint failed with the keys: %d", a.status)
	}
	if n := srv.Keys.Requests(); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}
}

// An InMemory server works inside a synctest bubble: a hanging endpoint
// holds requests until the client gives up or the endpoint recovers.
func TestServerInMemoryHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := bearertest.NewServer(bearertest.ES256, bearertest.InMemory())
		defer srv.Close()
		c := srv.Client()
		srv.Keys.Hang()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.JWKSURL, nil)
		start := time.Now()
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("hanging request: %v after %v, want the deadline after 5s", err, time.Since(start))
		}

		done := make(chan answer)
		go func() {
			resp, err := c.Get(srv.JWKSURL)
			if err != nil {
				done <- answer{}
				return
			}
			resp.Body.Close()
			done <- answer{status: resp.StatusCode}
		}()
		synctest.Wait()
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
		srv.Keys.Recover()
		if a := <-done; a.status != http.StatusOK {
			t.Fatalf("released request: %d", a.status)
		}

		// Close releases hanging requests.
		srv.Discovery.Hang()
		go func() {
			resp, err := c.Get(srv.URL + bearertest.DiscoveryPath)
			if err == nil {
				resp.Body.Close()
			}
			close(done)
		}()
		synctest.Wait()
		srv.Close()
		<-done
	})
}

func TestNewServerRefusesHMAC(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewServer(HS256) did not panic")
		}
	}()
	bearertest.NewServer(bearertest.HS256)
}
