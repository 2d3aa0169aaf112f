package server

import "testing"

func TestSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, h, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 43 || seen[s] {
			t.Fatalf("secret %q: want 43 base64url chars (256 bits), never repeated", s)
		}
		seen[s] = true
		if !secretMatches(s, h) {
			t.Fatal("secret does not match its own hash")
		}
		if secretMatches(s[:42]+"x", h) || secretMatches("", h) {
			t.Fatal("a different secret matched")
		}
		if string(h) == s {
			t.Fatal("hash is the secret")
		}
	}
}
