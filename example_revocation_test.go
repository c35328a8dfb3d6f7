package bearer_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// A logout endpoint revokes the token it is called with; "log out
// everywhere" revokes every token of the subject issued until now.
func ExampleWithRevocation() {
	revocations, err := bearer.NewMemoryRevoker() // redisrevoke.New for several instances
	if err != nil {
		log.Fatal(err)
	}
	m, err := bearer.New(issuer.KeySource(), bearer.WithIssuer("https://auth.example.com"), bearer.WithAudience("orders-api"), bearer.WithRevocation(revocations))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders/", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders of %s", bearer.Subject(r.Context()))
	})))
	mux.Handle("POST /logout", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		if err := revocations.RevokeToken(r.Context(), tok); err != nil {
			http.Error(w, "cannot log out", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("POST /logout-everywhere", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		if err := revocations.RevokeSubject(r.Context(), tok.Issuer(), tok.Subject(), time.Now()); err != nil {
			http.Error(w, "cannot log out", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))

	laptop := issuer.MustMint(bearertest.Claims{"sub": "alice", "jti": "laptop-1", "iat": time.Now().Add(-time.Hour).Unix()})
	phone := issuer.MustMint(bearertest.Claims{"sub": "alice", "jti": "phone-1", "iat": time.Now().Add(-time.Hour).Unix()})
	request(mux, "POST", "/logout", laptop)
	request(mux, "GET", "/orders/", laptop)
	request(mux, "GET", "/orders/", phone)
	request(mux, "POST", "/logout-everywhere", phone)
	request(mux, "GET", "/orders/", phone)
	// Output:
	// 204
	// 401 {"error":"invalid_token","error_description":"token revoked"}
	// 200 orders of alice
	// 204
	// 401 {"error":"invalid_token","error_description":"token revoked"}
}

func request(h http.Handler, method, path, token string) {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
}
