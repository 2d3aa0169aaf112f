// Package openapi merges the published Run:ai OpenAPI fragments into the one
// spec that both code generation and request validation read.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// Fragment is one published OpenAPI document, named for error messages.
type Fragment struct {
	Name string
	Doc  *openapi3.T
}

// LoadFragments reads every *.json file of dir, in name order, so the merge
// never depends on directory listing order.
func LoadFragments(dir string) ([]Fragment, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.json fragments in %s", dir)
	}
	sort.Strings(names)
	frags := make([]Fragment, 0, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(name), err)
		}
		frags = append(frags, Fragment{Name: filepath.Base(name), Doc: doc})
	}
	return frags, nil
}

// Merge unions the fragments' paths and components. The document-level blocks
// (openapi, info, servers, security) and every component that two fragments
// both define must be identical; two fragments defining one operation is an
// error. Tags are unioned in first-seen order.
func Merge(frags []Fragment) (*openapi3.T, error) {
	if len(frags) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := frags[0]
	out := &openapi3.T{
		OpenAPI:    first.Doc.OpenAPI,
		Info:       first.Doc.Info,
		Servers:    first.Doc.Servers,
		Security:   first.Doc.Security,
		Paths:      openapi3.NewPaths(),
		Components: &openapi3.Components{},
	}
	pathOwner := map[string]string{} // "METHOD path" -> fragment
	compOwner := map[string]string{} // "kind/name" -> fragment
	itemOwner := map[string]string{} // path -> fragment that set path-level fields
	tagSeen := map[string]string{}

	for _, f := range frags {
		d := f.Doc
		for _, b := range []struct {
			what string
			a, b any
		}{
			{"openapi", first.Doc.OpenAPI, d.OpenAPI},
			{"info", first.Doc.Info, d.Info},
			{"servers", first.Doc.Servers, d.Servers},
			{"security", first.Doc.Security, d.Security},
		} {
			if err := mustEqual(b.a, b.b); err != nil {
				return nil, fmt.Errorf("%s and %s disagree on %s: %w", first.Name, f.Name, b.what, err)
			}
		}
		for _, t := range d.Tags {
			if prev, ok := tagSeen[t.Name]; ok {
				idx := indexOfTag(out.Tags, t.Name)
				if err := mustEqual(out.Tags[idx], t); err != nil {
					return nil, fmt.Errorf("%s and %s disagree on tag %q: %w", prev, f.Name, t.Name, err)
				}
				continue
			}
			tagSeen[t.Name] = f.Name
			out.Tags = append(out.Tags, t)
		}

		if err := mergePaths(out, f, pathOwner, itemOwner); err != nil {
			return nil, err
		}
		if err := mergeComponents(out.Components, f, compOwner); err != nil {
			return nil, err
		}
	}
	if err := out.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("merged spec is invalid: %w", err)
	}
	return out, nil
}

func indexOfTag(tags openapi3.Tags, name string) int {
	for i, t := range tags {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func mergePaths(out *openapi3.T, f Fragment, opOwner, itemOwner map[string]string) error {
	if f.Doc.Paths == nil {
		return nil
	}
	for _, path := range f.Doc.Paths.InMatchingOrder() {
		src := f.Doc.Paths.Value(path)
		dst := out.Paths.Value(path)
		if dst == nil {
			dst = &openapi3.PathItem{}
			out.Paths.Set(path, dst)
		}
		// Path-level fields (summary, parameters, ...) must agree across the
		// fragments that share a path; compare them with operations removed.
		shell := *src
		for method := range src.Operations() {
			shell.SetOperation(method, nil)
		}
		if prev, ok := itemOwner[path]; ok {
			cur := *dst
			for method := range dst.Operations() {
				cur.SetOperation(method, nil)
			}
			if err := mustEqual(&cur, &shell); err != nil {
				return fmt.Errorf("%s and %s disagree on path-level fields of %s: %w", prev, f.Name, path, err)
			}
		} else {
			itemOwner[path] = f.Name
			ops := dst.Operations()
			*dst = shell
			for method, op := range ops {
				dst.SetOperation(method, op)
			}
		}
		for method, op := range src.Operations() {
			key := method + " " + path
			if prev, ok := opOwner[key]; ok {
				return fmt.Errorf("%s and %s both define operation %s", prev, f.Name, key)
			}
			opOwner[key] = f.Name
			dst.SetOperation(method, op)
		}
	}
	return nil
}

func mergeComponents(dst *openapi3.Components, f Fragment, owner map[string]string) error {
	src := f.Doc.Components
	if src == nil {
		return nil
	}
	if len(src.Examples)+len(src.Links)+len(src.Callbacks) > 0 {
		return fmt.Errorf("%s: components examples, links and callbacks are not merged; add support before using them", f.Name)
	}
	return errors.Join(
		mergeMap("schemas", &dst.Schemas, src.Schemas, f.Name, owner),
		mergeMap("responses", &dst.Responses, src.Responses, f.Name, owner),
		mergeMap("parameters", &dst.Parameters, src.Parameters, f.Name, owner),
		mergeMap("requestBodies", &dst.RequestBodies, src.RequestBodies, f.Name, owner),
		mergeMap("securitySchemes", &dst.SecuritySchemes, src.SecuritySchemes, f.Name, owner),
		mergeMap("headers", &dst.Headers, src.Headers, f.Name, owner),
	)
}

// mergeMap adds src's named components of one kind to *dst; a name both
// define must be defined identically.
func mergeMap[M ~map[string]V, V any](kind string, dst *M, src M, fragment string, owner map[string]string) error {
	if *dst == nil {
		*dst = M{}
	}
	for _, name := range sortedKeys(src) {
		key := kind + "/" + name
		if existing, ok := (*dst)[name]; ok {
			if err := mustEqual(existing, src[name]); err != nil {
				return fmt.Errorf("%s and %s define %s differently: %w", owner[key], fragment, key, err)
			}
			continue
		}
		owner[key] = fragment
		(*dst)[name] = src[name]
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mustEqual compares two spec values by their canonical JSON, which is how
// kin-openapi writes them ($refs stay refs).
func mustEqual(a, b any) error {
	ja, err := json.Marshal(a)
	if err != nil {
		return err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(ja, jb) {
		return fmt.Errorf("%s != %s", ja, jb)
	}
	return nil
}

// MarshalYAML renders the merged spec as YAML with sorted keys, so the
// committed file changes only when the API does.
func MarshalYAML(doc *openapi3.T) ([]byte, error) {
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(j, &generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
