package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Expect is what a request must get back, beyond conformance to the spec.
type Expect struct {
	Success bool // a 2xx
	Client  bool // a 4xx (the request is invalid)
	Status  int  // exactly this status
	// Any: conformance only (a listed status, a valid body, no 5xx).
}

var (
	expectSuccess = Expect{Success: true}
	expectInvalid = Expect{Client: true}
	expectAny     = Expect{}
)

func expectStatus(n int) Expect { return Expect{Status: n} }

func (e Expect) String() string {
	switch {
	case e.Status != 0:
		return fmt.Sprint(e.Status)
	case e.Success:
		return "2xx"
	case e.Client:
		return "4xx"
	}
	return "any listed status"
}

// Req is one request of the suite.
type Req struct {
	Op     *Op
	Case   string // what this request tries, for the report
	Method string
	Path   string // expanded and escaped
	Query  string // raw query, without '?'
	Auth   string // the whole Authorization header; "" sends none
	CType  string // Content-Type; "" sends none
	Body   []byte
	// Direct sends to the service itself, not through the validating proxy:
	// for requests that are invalid on purpose.
	Direct bool
	// PrismMustRefuse: the request breaks the spec's schemas, so the
	// validating proxy must refuse it too. With --prism it is sent there as
	// well, and a forwarded request is a failure: the suite and the
	// independent implementation disagree about what the spec allows.
	PrismMustRefuse bool
	Expect          Expect
}

// Resp is what came back.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   any
}

// Failure is one departure the suite found.
type Failure struct {
	Op, Case, Request, Problem string
}

type client struct {
	base, direct string
	prism        bool
	http         *http.Client
	spec         *openapi3.T
	// offSpec are statuses the service may answer although an operation does
	// not list them; each is a documented departure (413: body over the limit).
	offSpec  map[int]bool
	failures []Failure
	count    int
	verbose  bool
	log      io.Writer
}

func (c *client) fail(r Req, format string, args ...any) {
	op := "-"
	if r.Op != nil {
		op = r.Op.ID
	}
	f := Failure{Op: op, Case: r.Case, Request: r.describe(), Problem: fmt.Sprintf(format, args...)}
	c.failures = append(c.failures, f)
	fmt.Fprintf(c.log, "FAIL %s: %s\n     %s\n     %s\n", f.Op, f.Case, f.Request, f.Problem)
}

func (r Req) describe() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	if r.CType != "" {
		s += " [" + r.CType + "]"
	}
	if len(r.Body) > 0 {
		b := string(r.Body)
		if len(b) > 120 {
			b = b[:120] + fmt.Sprintf("...(%d bytes)", len(r.Body))
		}
		s += " " + b
	}
	if r.Direct {
		s += " (direct)"
	}
	return s
}

// do sends r, checks the response against the spec and r.Expect, and records
// any failure. It returns the response (nil on a transport error).
func (c *client) do(ctx context.Context, r Req) *Resp {
	c.count++
	base := c.base
	if r.Direct {
		base = c.direct
	}
	req, err := r.httpRequest(ctx, base)
	if err != nil {
		c.fail(r, "cannot build request: %v", err)
		return nil
	}
	req.Header.Set("Accept", "application/json")
	hr, err := c.http.Do(req)
	if err != nil {
		c.fail(r, "transport error: %v", err)
		return nil
	}
	defer hr.Body.Close()
	data, err := io.ReadAll(hr.Body)
	if err != nil {
		c.fail(r, "reading body: %v", err)
		return nil
	}
	resp := &Resp{Status: hr.StatusCode, Header: hr.Header, Body: data}
	if len(data) > 0 {
		_ = json.Unmarshal(data, &resp.JSON)
	}
	if c.verbose {
		fmt.Fprintf(c.log, "  %d  %s: %s\n", resp.Status, r.Case, r.describe())
	}
	c.check(r, req, resp)
	if r.PrismMustRefuse && r.Direct && c.prism {
		c.prismRefuses(ctx, r)
	}
	return resp
}

// httpRequest builds r against base: path, query, body, Content-Type and
// Authorization exactly as the case says.
func (r Req) httpRequest(ctx context.Context, base string) (*http.Request, error) {
	u := base + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, err
	}
	if r.CType != "" {
		req.Header.Set("Content-Type", r.CType)
	}
	if r.Auth != "" {
		req.Header.Set("Authorization", r.Auth)
	}
	return req, nil
}

// prismRefuses sends r through the proxy and requires Prism's own answer
// (problem+json, 4xx): a forwarded request means Prism found it valid.
func (c *client) prismRefuses(ctx context.Context, r Req) {
	req, err := r.httpRequest(ctx, c.base)
	if err != nil {
		c.fail(r, "cannot build request: %v", err)
		return
	}
	c.count++
	hr, err := c.http.Do(req)
	if err != nil {
		c.fail(r, "through Prism: transport error: %v", err)
		return
	}
	data, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	// Prism answers for itself with problem+json, or, for a body its parser
	// cannot read, {"error":{"code":"invalid_json",...}}. What it forwards is
	// the service's answer: valid against the status's schema in the spec.
	refused := strings.HasPrefix(hr.Header.Get("Content-Type"), "application/problem+json")
	if !refused && hr.StatusCode >= 400 && hr.StatusCode < 500 {
		refused = !c.declaredBody(r.Op, hr.StatusCode, data)
	}
	if !refused {
		pr := r
		pr.Direct = false
		c.fail(pr, "Prism forwarded a request the suite built to be invalid (the two disagree about the spec): got %d %s",
			hr.StatusCode, truncate(data, 200))
	}
}

func (c *client) check(r Req, req *http.Request, resp *Resp) {
	show := fmt.Sprintf("got %d %s", resp.Status, truncate(resp.Body, 300))
	// The independent judge: Prism marks any departure it sees in the
	// sl-violations header (an unlisted status is only a warning there, so
	// warnings count too) and, with --errors, answers its own problem+json.
	if !r.Direct && c.prism {
		if v := resp.Header.Get("sl-violations"); v != "" {
			c.fail(r, "Prism reports violations: %s; %s", truncate([]byte(v), 400), show)
			return
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") ||
			bytes.Contains(resp.Body, []byte("stoplight.io/prism/errors")) {
			c.fail(r, "Prism rejected the exchange: %s", show)
			return
		}
	}
	if resp.Status >= 500 {
		c.fail(r, "server error (no request may get a 5xx): %s", show)
		return
	}
	switch e := r.Expect; {
	case e.Status != 0 && resp.Status != e.Status:
		c.fail(r, "want %d, %s", e.Status, show)
		return
	case e.Success && (resp.Status < 200 || resp.Status > 299):
		c.fail(r, "want a 2xx, %s", show)
		return
	case e.Client && (resp.Status < 400 || resp.Status > 499):
		c.fail(r, "want a 4xx, %s", show)
		return
	}
	if resp.Status >= 400 && c.errorSchemaApplies(r.Op, resp.Status) {
		if err := c.checkError(resp); err != nil {
			c.fail(r, "%v; %s", err, show)
			return
		}
	}
	if r.Op == nil { // outside the spec: only the Error shape is checked
		return
	}
	if c.offSpec[resp.Status] && !r.Op.Lists(resp.Status) {
		return // documented departure, Error body already checked
	}
	if !r.Op.Lists(resp.Status) && r.Op.Op.Responses.Default() == nil {
		c.fail(r, "status %d is not listed for %s; %s", resp.Status, r.Op.ID, show)
		return
	}
	route := &routers.Route{Spec: c.spec, Path: r.Op.Path, PathItem: r.Op.PathItem, Method: r.Op.Method, Operation: r.Op.Op}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 resp.Status,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.fail(r, "response does not match the spec: %v; %s", err, show)
		return
	}
	if ref := r.Op.Op.Responses.Status(resp.Status); ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(resp.Body) > 0 {
		c.fail(r, "status %d has no content in the spec but the body is %q", resp.Status, truncate(resp.Body, 100))
	}
}

// errorSchemaApplies: the spec's Error is what an error must be, unless the
// operation declares another schema for that status (an OAuth2 token
// endpoint's error, say), which the response validation then checks.
func (c *client) errorSchemaApplies(op *Op, status int) bool {
	if op == nil {
		return true
	}
	ref := op.Op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return true // unlisted (a documented departure, or a failure anyway)
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return true
	}
	errSchema := c.spec.Components.Schemas["Error"]
	return mt.Schema.Ref == "#/components/schemas/Error" || (errSchema != nil && mt.Schema.Value == errSchema.Value)
}

// declaredBody reports whether data is valid against op's schema for status.
func (c *client) declaredBody(op *Op, status int, data []byte) bool {
	if op == nil {
		return false
	}
	ref := op.Op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return false
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return false
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	return mt.Schema.Value.VisitJSON(v) == nil
}

// checkError requires every error to be the spec's Error JSON, code = status.
func (c *client) checkError(resp *Resp) error {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error response has Content-Type %q, want application/json", ct)
	}
	errSchema := c.spec.Components.Schemas["Error"]
	if errSchema == nil || errSchema.Value == nil {
		return nil
	}
	if err := errSchema.Value.VisitJSON(resp.JSON); err != nil {
		return fmt.Errorf("error body is not the spec's Error: %v", err)
	}
	if m, ok := resp.JSON.(map[string]any); ok {
		if code, ok := m["code"].(float64); ok && int(code) != resp.Status {
			return fmt.Errorf("error body code %v differs from the status", m["code"])
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
