package openapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFragments(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const head = `"openapi":"3.0.3","info":{"title":"Runai API","version":"2.21"},"servers":[{"url":"https://app.run.ai"}],"security":[{"bearerAuth":[]}]`
const secSchemes = `"securitySchemes":{"bearerAuth":{"type":"http","scheme":"bearer"}}`

func frag(paths, schemas string) string {
	return `{` + head + `,"components":{` + secSchemes + `,"schemas":{` + schemas + `}},"paths":{` + paths + `}}`
}

const okResp = `"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}}}`

func TestMerge(t *testing.T) {
	thing := `"Thing":{"type":"object","properties":{"a":{"type":"string"}}}`
	otherThing := `"Thing":{"type":"object","properties":{"a":{"type":"integer"}}}`
	cases := []struct {
		name    string
		files   map[string]string
		wantErr string // substring; empty means success
	}{
		{"disjoint operations merge", map[string]string{
			"1.json": frag(`"/a":{"get":{"operationId":"a",`+okResp+`}}`, thing),
			"2.json": frag(`"/a":{"post":{"operationId":"b",`+okResp+`}}`, thing),
		}, ""},
		{"same operation twice", map[string]string{
			"1.json": frag(`"/a":{"get":{"operationId":"a",`+okResp+`}}`, thing),
			"2.json": frag(`"/a":{"get":{"operationId":"a2",`+okResp+`}}`, thing),
		}, "1.json and 2.json both define operation GET /a"},
		{"conflicting schema", map[string]string{
			"1.json": frag(`"/a":{"get":{"operationId":"a",`+okResp+`}}`, thing),
			"2.json": frag(`"/b":{"get":{"operationId":"b",`+okResp+`}}`, otherThing),
		}, "1.json and 2.json define schemas/Thing differently"},
		{"conflicting info", map[string]string{
			"1.json": frag(`"/a":{"get":{"operationId":"a",`+okResp+`}}`, thing),
			"2.json": strings.Replace(frag(`"/b":{"get":{"operationId":"b",`+okResp+`}}`, thing), `"2.21"`, `"2.22"`, 1),
		}, "disagree on info"},
		{"duplicate operationId across paths", map[string]string{
			"1.json": frag(`"/a":{"get":{"operationId":"a",`+okResp+`}}`, thing),
			"2.json": frag(`"/b":{"get":{"operationId":"a",`+okResp+`}}`, thing),
		}, "merged spec is invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frags, err := LoadFragments(writeFragments(t, c.files))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Merge(frags)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				item := doc.Paths.Value("/a")
				if item == nil || item.Get == nil || item.Post == nil {
					t.Fatalf("operations not unioned: %+v", item)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

// TestCommittedSpecIsCurrent: the committed runai.yaml is what the fragments
// merge to, and merging twice gives the same bytes.
func TestCommittedSpecIsCurrent(t *testing.T) {
	frags, err := LoadFragments("fragments")
	if err != nil {
		t.Fatal(err)
	}
	var outs [2][]byte
	for i := range outs {
		doc, err := Merge(frags)
		if err != nil {
			t.Fatal(err)
		}
		if outs[i], err = MarshalYAML(doc); err != nil {
			t.Fatal(err)
		}
	}
	if string(outs[0]) != string(outs[1]) {
		t.Fatal("merge is not deterministic")
	}
	committed, err := os.ReadFile("runai.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != string(outs[0]) {
		t.Fatal("openapi/runai.yaml is stale: run make generate")
	}
	doc, _ := Merge(frags)
	if doc.Info.Version != "2.21" || len(doc.Servers) != 1 || len(doc.Security) != 1 || len(doc.Tags) == 0 {
		t.Fatalf("info/servers/security/tags not kept: %+v", doc.Info)
	}
	var ops []string
	for _, p := range doc.Paths.Map() {
		for _, op := range p.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	if len(ops) < 7 {
		t.Fatalf("operations %v", ops)
	}
}
