package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Making a required response property optional from the committed spec is
// breaking; it passes only once acknowledged with id, path and reason.
func TestBreakingChangeNeedsAcknowledgement(t *testing.T) {
	spec, err := os.ReadFile("../../runai.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	rev := filepath.Join(dir, "rev.yaml")
	ack := filepath.Join(dir, "ack.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(base, string(spec))
	// UserAppPostResponse stops requiring secret (response-property-became-optional).
	broken := strings.Replace(string(spec), "        - id\n        - name\n        - secret\n", "        - id\n        - name\n", 1)
	if broken == string(spec) {
		t.Fatal("test edit did not apply")
	}
	write(rev, broken)

	if n, err := run(base, base, ack, io.Discard); err != nil || n != 0 {
		t.Fatalf("identical specs: %d breaking, err %v", n, err)
	}
	if n, err := run(base, rev, ack, io.Discard); err != nil || n == 0 {
		t.Fatalf("removed required property: %d breaking, err %v; want > 0", n, err)
	}
	write(ack, "acknowledged:\n  - id: response-property-became-optional\n    path: /api/v1/user-applications\n    reason: test\n")
	if n, err := run(base, rev, ack, io.Discard); err != nil || n != 0 {
		t.Fatalf("acknowledged: %d breaking, err %v", n, err)
	}
	write(ack, "acknowledged:\n  - id: response-property-became-optional\n    path: /api/v1/user-applications\n")
	if _, err := run(base, rev, ack, io.Discard); err == nil {
		t.Fatal("an acknowledgement without a reason was accepted")
	}
}
