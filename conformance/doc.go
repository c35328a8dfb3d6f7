// Package conformance runs standard test vectors against bearer through its
// public API: Project Wycheproof's JWS and JWK vectors, the JWS examples of
// RFC 7515 Appendix A and RFC 8037 Appendix A.4, and the signing examples of
// RFC 7520 §4. It is a module of its own so that bearer's users never
// download the vectors; it holds tests only.
//
// A JWT verifier judges a JWS in two layers. The JWS layer checks the form,
// the header, the key and the signature; the JWT layer then reads the
// payload as a claims set (RFC 7519 §7.2, steps 7 and 10). Most vectors carry
// payloads that are no claims set ("foo", "Test", binary data). Such a vector
// is valid at the JWS layer exactly when Verify refuses it with ErrMalformed
// and the description "malformed claims", which bearer reports only once the
// signature holds; any other refusal happened at the JWS layer.
package conformance
