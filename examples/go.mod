module github.com/bearerauth/bearer/examples

go 1.25.0

replace github.com/bearerauth/bearer => ../

require github.com/bearerauth/bearer v0.0.0
