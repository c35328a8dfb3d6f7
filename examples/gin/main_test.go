package main

import (
	"testing"

	"github.com/bearerauth/bearer/examples/internal/demo"
)

// TestRoutes calls the example's routes as its printed commands do.
func TestRoutes(t *testing.T) {
	issuer, auth, err := newAuth()
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	admin, user := demo.Tokens(issuer)
	demo.CheckRoutes(t, routes(auth), "gin-example", "/api", admin, user)
}
