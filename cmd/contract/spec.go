package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Op is one operation of the merged spec, with what the suite derives from it.
type Op struct {
	ID       string
	Method   string
	Path     string // template, e.g. /api/v1/user-applications/{appId}
	Op       *openapi3.Operation
	PathItem *openapi3.PathItem
	Params   []*openapi3.Parameter // path-level and operation-level, merged
	// Secured is false for operations with `security: []`: they need no token.
	Secured bool
	// Admin marks operations that only an administrator may call. This is the
	// one piece of per-operation knowledge the spec does not state in a
	// machine-readable way: Run:ai puts them under /administration/.
	Admin bool
	// BodyType is the request body's media type ("" when there is no body);
	// JSON is preferred, then form-urlencoded.
	BodyType     string
	BodySchema   *openapi3.Schema
	BodyRequired bool
}

func (o *Op) String() string { return o.ID + " (" + o.Method + " " + o.Path + ")" }

// PathParams lists the operation's path parameters in template order.
func (o *Op) PathParams() []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, p := range o.Params {
		if p.In == openapi3.ParameterInPath {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Index(o.Path, "{"+out[i].Name+"}") < strings.Index(o.Path, "{"+out[j].Name+"}")
	})
	return out
}

// QueryParams lists the operation's query parameters.
func (o *Op) QueryParams() []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, p := range o.Params {
		if p.In == openapi3.ParameterInQuery {
			out = append(out, p)
		}
	}
	return out
}

// Lists reports whether the operation lists status.
func (o *Op) Lists(status int) bool {
	return o.Op.Responses.Status(status) != nil
}

// SuccessSchema is the schema of the first 2xx response with a JSON body.
func (o *Op) SuccessSchema() (int, *openapi3.Schema) {
	for code := 200; code < 300; code++ {
		r := o.Op.Responses.Status(code)
		if r == nil || r.Value == nil {
			continue
		}
		if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			return code, mt.Schema.Value
		}
		return code, nil
	}
	return 0, nil
}

// Resource is the last static path segment before the first parameter (or
// the last segment of a path without one): operations on the same resource
// share it, e.g. "user-applications".
func (o *Op) Resource() string {
	segs := strings.Split(strings.Trim(o.Path, "/"), "/")
	last := ""
	for _, s := range segs {
		if strings.HasPrefix(s, "{") {
			return last
		}
		last = s
	}
	return last
}

// Kind classifies an operation by its shape alone.
type Kind int

const (
	KindOther  Kind = iota // e.g. token endpoints: called, checked, nothing inferred
	KindCreate             // POST on a collection, body in, 2xx object with an id out
	KindList               // GET on a collection, 2xx array out
	KindGet                // GET on an item
	KindAction             // POST/PUT/PATCH on an item
	KindDelete             // DELETE on an item
)

func (k Kind) String() string {
	return [...]string{"other", "create", "list", "get", "action", "delete"}[k]
}

func (o *Op) Kind() Kind {
	hasItem := len(o.PathParams()) > 0
	_, s := o.SuccessSchema()
	switch {
	case !hasItem && o.Method == http.MethodPost && o.BodyType != "" && s != nil && s.Properties["id"] != nil:
		return KindCreate
	case !hasItem && o.Method == http.MethodGet && s != nil && s.Type.Is(openapi3.TypeArray):
		return KindList
	case hasItem && o.Method == http.MethodGet:
		return KindGet
	case hasItem && o.Method == http.MethodDelete:
		return KindDelete
	case hasItem && (o.Method == http.MethodPost || o.Method == http.MethodPut || o.Method == http.MethodPatch):
		return KindAction
	}
	return KindOther
}

// loadSpec reads the merged spec from a file or an http(s) URL.
func loadSpec(ctx context.Context, src string) (*openapi3.T, []byte, error) {
	var data []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		data, err = fetch(ctx, src)
	} else {
		data, err = os.ReadFile(src)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("spec %s: %w", src, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("spec %s: %w", src, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, nil, fmt.Errorf("spec %s is not valid OpenAPI: %w", src, err)
	}
	return doc, data, nil
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// operations lists every operation of doc in a stable order.
func operations(doc *openapi3.T) []*Op {
	var ops []*Op
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			o := &Op{ID: op.OperationID, Method: method, Path: path, Op: op, PathItem: item}
			if o.ID == "" {
				o.ID = method + " " + path
			}
			seen := map[string]bool{}
			for _, ps := range []openapi3.Parameters{op.Parameters, item.Parameters} {
				for _, p := range ps {
					if p.Value != nil && !seen[p.Value.In+" "+p.Value.Name] {
						seen[p.Value.In+" "+p.Value.Name] = true
						o.Params = append(o.Params, p.Value)
					}
				}
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			o.Secured = len(sec) > 0
			for _, alt := range sec {
				if len(alt) == 0 { // an empty alternative makes auth optional
					o.Secured = false
				}
			}
			o.Admin = strings.Contains(path, "/administration/")
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				rb := op.RequestBody.Value
				o.BodyRequired = rb.Required
				for _, mt := range []string{"application/json", "application/x-www-form-urlencoded"} {
					if c := rb.Content.Get(mt); c != nil && c.Schema != nil {
						o.BodyType, o.BodySchema = mt, c.Schema.Value
						break
					}
				}
			}
			ops = append(ops, o)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops
}
