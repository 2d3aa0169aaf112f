package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// The service serves, without a token, exactly the committed merged spec.
func TestServesMergedSpec(t *testing.T) {
	s := servertest.New(t, dbtest.Engines()[0], servertest.Options{})
	committed, err := os.ReadFile("../openapi/runai.yaml")
	if err != nil {
		t.Fatal(err)
	}

	y := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/openapi.yaml"})
	if y.Status != http.StatusOK || !bytes.Equal(y.Body, committed) {
		t.Fatalf("GET /openapi.yaml -> %d, body equal to openapi/runai.yaml: %v", y.Status, bytes.Equal(y.Body, committed))
	}
	if ct := y.Header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("GET /openapi.yaml Content-Type %q", ct)
	}

	j := s.Do(t, servertest.Request{Method: http.MethodGet, Path: "/openapi.json"})
	if j.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json -> %d %s", j.Status, j.Body)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(j.Body, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(committed, &fromYAML); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromYAML)
	if !bytes.Equal(a, b) {
		t.Fatalf("GET /openapi.json differs from openapi/runai.yaml")
	}

	// It is a valid spec with the operations the handlers were generated for,
	// under their published operationIds.
	doc, err := openapi3.NewLoader().LoadFromData(j.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	embedded, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range embedded.Paths.Map() {
		for method := range item.Operations() {
			served := doc.Paths.Find(path)
			if served == nil || served.GetOperation(method) == nil {
				t.Errorf("%s %s: generated but not in the served spec", method, path)
			}
		}
	}
	if op := doc.Paths.Find("/api/v1/user-applications").Post; op == nil || op.OperationID != "create_user_application" {
		t.Errorf("served spec lost the published operationId")
	}
}
