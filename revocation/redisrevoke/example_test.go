package redisrevoke_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
	"github.com/redis/go-redis/v9"
)

// Every instance of the service runs the same code: a token revoked by
// /logout on one is refused by all, and by instances started later.
func Example() {
	issuer := bearertest.MustIssuer(bearertest.ES256)                        // your identity provider
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")}) // e.g. localhost:6379
	defer client.Close()

	// instance is one replica of the service: its set-up at start.
	instance := func() (http.Handler, func()) {
		start, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		revocations, err := redisrevoke.New(start, client, redisrevoke.WithMaxTokenLifetime(time.Hour))
		if err != nil {
			log.Fatal(err) // Redis unreachable at start
		}
		auth, err := bearer.New(issuer.KeySource(),
			bearer.WithIssuer(issuer.Issuer()),
			bearer.WithAudience(issuer.Audience()...),
			bearer.WithRevocation(revocations))
		if err != nil {
			log.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /orders", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		mux.Handle("POST /logout", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := bearer.FromContext(r.Context())
			if err := revocations.RevokeToken(r.Context(), tok); err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable) // Redis down: not revoked
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})))
		return mux, func() { auth.Close(); revocations.Close() }
	}

	token := issuer.MustMint(bearertest.Claims{"sub": "alice", "jti": fmt.Sprint(time.Now().UnixNano())})
	call := func(h http.Handler, method, path string) int {
		r := httptest.NewRequest(method, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	first, stop := instance()
	defer stop()
	fmt.Println("orders:", call(first, "GET", "/orders"))
	fmt.Println("logout:", call(first, "POST", "/logout"))
	fmt.Println("orders:", call(first, "GET", "/orders"))
	later, stopLater := instance() // a replica started after the logout
	defer stopLater()
	fmt.Println("orders on a new replica:", call(later, "GET", "/orders"))
	// Output:
	// orders: 200
	// logout: 204
	// orders: 401
	// orders on a new replica: 401
}

// On a Redis Cluster, the revocation list and the DPoP replay cache take a
// cluster client. The replay cache waits for a replica to hold each proof's
// id, so that a failover forgets no proof (give each master two replicas).
func ExampleNew_cluster() {
	issuer := bearertest.MustIssuer(bearertest.ES256) // your identity provider

	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"redis-1:6379", "redis-2:6379", "redis-3:6379"}})
	defer client.Close()
	start, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	revocations, err := redisrevoke.New(start, client, redisrevoke.WithMaxTokenLifetime(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer revocations.Close()

	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(bearertest.DefaultAudience),
		bearer.WithRevocation(revocations),
		bearer.WithDPoP(bearer.DPoP{
			Required: true,
			Replay:   redisrevoke.ReplayCache(client, "", redisrevoke.WaitForReplicas(1, 100*time.Millisecond)),
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	log.Fatal(http.ListenAndServe(":8080", auth.Handler(http.NotFoundHandler())))
}
