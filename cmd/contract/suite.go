package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"gopkg.in/yaml.v3"
)

// Suite drives every operation of the spec: valid requests derived from the
// schemas through the validating proxy, invalid ones straight to the service,
// and checks that state is consistent between them.
type Suite struct {
	c         *client
	doc       *openapi3.T
	specBytes []byte
	ops       []*Op
	// Bearer tokens: a user, another user, an administrator, an expired one.
	user, other, admin, expired string
	rnd                         *mrand.Rand
	maxLen                      int
	pool                        pool
	items                       []*item
	log                         func(format string, args ...any)
}

// item is something the suite created and follows until it is deleted.
type item struct {
	create  *Op
	id      string
	owner   string // bearer token of its creator
	who     string // "user" or "other", for the report
	fields  map[string]any
	deleted bool
}

func bearer(tok string) string {
	if tok == "" {
		return ""
	}
	return "Bearer " + tok
}

func (s *Suite) Run(ctx context.Context) {
	if s.c.prism {
		s.checkPrismValidates(ctx)
	}
	s.checkServedSpec(ctx)
	for _, op := range s.ops {
		s.log("operation %-45s %-6s %s  kind=%s secured=%v admin=%v", op.ID, op.Method, op.Path, op.Kind(), op.Secured, op.Admin)
	}
	s.log("-- valid requests, state and isolation")
	for _, c := range s.byKind(KindCreate) {
		s.createAll(ctx, c)
	}
	s.verifyState(ctx, "after creating")
	for _, a := range s.byKind(KindAction) {
		s.actions(ctx, a)
	}
	for _, o := range s.byKind(KindOther) {
		s.others(ctx, o)
	}
	for _, d := range s.byKind(KindDelete) {
		s.deletes(ctx, d)
	}
	s.verifyState(ctx, "after deleting")

	s.log("-- invalid requests (sent to the service directly)")
	for _, op := range s.ops {
		s.authCases(ctx, op)
		s.pathCases(ctx, op)
		s.bodyCases(ctx, op)
		s.queryCases(ctx, op)
	}
	s.methodCases(ctx)

	s.log("-- cleanup")
	s.cleanup(ctx)
	s.verifyState(ctx, "after cleanup")
}

func (s *Suite) byKind(k Kind) []*Op {
	var out []*Op
	for _, op := range s.ops {
		if op.Kind() == k {
			out = append(out, op)
		}
	}
	// Non-admin operations first: an administrator's delete comes last.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && !out[j].Admin && out[j-1].Admin; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// authFor is the Authorization header an operation needs for owner's data.
func (s *Suite) authFor(op *Op, owner string) string {
	switch {
	case !op.Secured:
		return ""
	case op.Admin:
		return bearer(s.admin)
	}
	return bearer(owner)
}

// expand fills the path template: id-like parameters get id, others a value
// from their schema.
func (s *Suite) expand(op *Op, id string) string {
	p := op.Path
	for _, prm := range op.PathParams() {
		v := id
		if !isIDParam(prm.Name) {
			var sch *openapi3.Schema
			if prm.Schema != nil {
				sch = prm.Schema.Value
			}
			v = fmt.Sprint(schemaValue(sch, prm.Name, s.pool, s.rnd, s.maxLen))
		}
		p = strings.ReplaceAll(p, "{"+prm.Name+"}", url.PathEscape(v))
	}
	return p
}

func isIDParam(name string) bool {
	n := strings.ToLower(name)
	return n == "id" || strings.HasSuffix(n, "id")
}

// checkPrismValidates makes sure the proxy judges: a request without its
// token must be refused by Prism itself (problem+json), not forwarded.
func (s *Suite) checkPrismValidates(ctx context.Context) {
	for _, op := range s.ops {
		if !op.Secured || op.Method != http.MethodGet || len(op.PathParams()) > 0 {
			continue
		}
		r := Req{Case: "Prism validates requests (--errors)", Method: op.Method, Path: op.Path}
		req, err := http.NewRequestWithContext(ctx, op.Method, s.c.base+op.Path, nil)
		if err != nil {
			s.c.fail(r, "%v", err)
			return
		}
		resp, err := s.c.http.Do(req)
		if err != nil {
			s.c.fail(r, "transport error: %v", err)
			return
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			s.c.fail(r, "an unauthenticated request went through the proxy (%d %s): is --base-url a Prism proxy started with --errors?",
				resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return
	}
}

// checkServedSpec requires the service to serve the spec the suite judges by.
func (s *Suite) checkServedSpec(ctx context.Context) {
	r := Req{Case: "served spec equals the suite's spec", Method: http.MethodGet, Path: "/openapi.json", Direct: true, Expect: expectStatus(200)}
	resp := s.c.do(ctx, r)
	if resp == nil || resp.Status != 200 {
		return
	}
	var want any
	if err := yaml.Unmarshal(s.specBytes, &want); err != nil {
		s.c.fail(r, "suite spec: %v", err)
		return
	}
	a, _ := json.Marshal(want)
	var wantJSON any
	_ = json.Unmarshal(a, &wantJSON)
	if !reflect.DeepEqual(wantJSON, resp.JSON) {
		s.c.fail(r, "the service serves a different spec than the one the suite checks against")
	}
}

// validBodies are the create operation's valid bodies: for each patterned
// string property, each edge of its pattern.
func (s *Suite) validBodies(op *Op) []namedBody {
	base := schemaValue(op.BodySchema, "", nil, s.rnd, s.maxLen).(map[string]any)
	var out []namedBody
	for _, name := range sortedProps(op.BodySchema) {
		ps := op.BodySchema.Properties[name].Value
		if ps == nil || ps.Pattern == "" {
			continue
		}
		g, err := newPatternGen(ps.Pattern, s.rnd)
		if err != nil {
			s.log("pattern %q of %s: %v (skipped)", ps.Pattern, name, err)
			continue
		}
		for _, v := range g.Valid(s.maxLenOf(ps)) {
			out = append(out, namedBody{name + ": " + v.Why, with(base, name, v.Value)})
		}
	}
	if len(out) == 0 {
		out = append(out, namedBody{"from the schema", base})
	}
	return out
}

type namedBody struct {
	why  string
	body map[string]any
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func without(m map[string]any, k string) map[string]any {
	out := with(m, k, nil)
	delete(out, k)
	return out
}

func sortedProps(s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	for k := range s.Properties {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func (s *Suite) maxLenOf(ps *openapi3.Schema) int {
	if ps.MaxLength != nil && int(*ps.MaxLength) < s.maxLen {
		return int(*ps.MaxLength)
	}
	return s.maxLen
}

func (s *Suite) send(ctx context.Context, r Req) *Resp { return s.c.do(ctx, r) }

func (s *Suite) bodyReq(op *Op, why string, obj map[string]any, auth string, exp Expect) Req {
	b, err := encodeBody(op.BodyType, obj)
	if err != nil {
		panic(err)
	}
	return Req{Op: op, Case: why, Method: op.Method, Path: op.Path, Auth: auth, CType: op.BodyType, Body: b, Expect: exp}
}

// createAll sends every valid body and records what was created; then the
// duplicate, the other user's copy, and names past the longest accepted.
func (s *Suite) createAll(ctx context.Context, op *Op) {
	bodies := s.validBodies(op)
	if op.BodySchema.AdditionalProperties.Has == nil || *op.BodySchema.AdditionalProperties.Has {
		// A fresh draw, so its name is new; its length may differ from the
		// first draw's (random names), so index it by its own length.
		fresh := s.validBodies(op)
		bodies = append(bodies, namedBody{"an unknown property (the schema allows them)",
			with(fresh[len(fresh)-1].body, "contractUnknownProperty", "x")})
	}
	for _, b := range bodies {
		resp := s.send(ctx, s.bodyReq(op, "create, "+b.why, b.body, s.authFor(op, s.user), expectSuccess))
		s.record(op, resp, s.user, "user")
	}
	first := bodies[0]
	if op.Lists(http.StatusConflict) {
		s.send(ctx, s.bodyReq(op, "create the same again: conflict", first.body, s.authFor(op, s.user), expectStatus(http.StatusConflict)))
	}
	if s.other != "" {
		resp := s.send(ctx, s.bodyReq(op, "another user may reuse the name", first.body, s.authFor(op, s.other), expectSuccess))
		s.record(op, resp, s.other, "other")
	}
	// Past the longest accepted: the spec sets no bound, so any listed answer
	// but a 5xx will do.
	for _, name := range sortedProps(op.BodySchema) {
		ps := op.BodySchema.Properties[name].Value
		if ps == nil || ps.Pattern == "" || ps.MaxLength != nil {
			continue
		}
		g, err := newPatternGen(ps.Pattern, s.rnd)
		if err != nil {
			continue
		}
		for _, n := range []int{s.maxLen + 1, 4 * s.maxLen} {
			v := g.longest(n)
			if len(v) != n {
				continue
			}
			resp := s.send(ctx, s.bodyReq(op, fmt.Sprintf("%s of %d chars, past the longest accepted", name, n),
				with(first.body, name, v), s.authFor(op, s.user), expectAny))
			s.record(op, resp, s.user, "user")
		}
	}
}

func (s *Suite) record(op *Op, resp *Resp, owner, who string) {
	if resp == nil || resp.Status < 200 || resp.Status > 299 {
		return
	}
	m, ok := resp.JSON.(map[string]any)
	if !ok {
		return
	}
	id, _ := m["id"].(string)
	if id == "" {
		return
	}
	for k, v := range m {
		if str, ok := v.(string); ok {
			s.pool.add(k, str)
		}
	}
	s.items = append(s.items, &item{create: op, id: id, owner: owner, who: who, fields: m})
}

func (s *Suite) live(resource string) []*item {
	var out []*item
	for _, it := range s.items {
		if !it.deleted && it.create.Resource() == resource {
			out = append(out, it)
		}
	}
	return out
}

// sameFields compares the properties two views of an item share; date-times
// compare as instants.
func sameFields(created, seen map[string]any) string {
	for k, v := range created {
		w, ok := seen[k]
		if !ok {
			continue
		}
		if a, ok1 := v.(string); ok1 {
			if b, ok2 := w.(string); ok2 {
				ta, e1 := time.Parse(time.RFC3339Nano, a)
				tb, e2 := time.Parse(time.RFC3339Nano, b)
				if e1 == nil && e2 == nil && ta.Equal(tb) {
					continue
				}
			}
		}
		if !reflect.DeepEqual(v, w) {
			return fmt.Sprintf("%s: created %v, now %v", k, v, w)
		}
	}
	return ""
}

// verifyState checks that lists and item reads agree with what the suite
// created and deleted, and that users see only their own items.
func (s *Suite) verifyState(ctx context.Context, when string) {
	for _, l := range s.byKind(KindList) {
		res := l.Resource()
		owners := []struct{ tok, who string }{{s.user, "user"}, {s.other, "other"}}
		if l.Admin {
			owners = owners[:1]
		}
		for _, o := range owners {
			if o.tok == "" {
				continue
			}
			r := Req{Op: l, Case: "list " + when + " as " + o.who, Method: l.Method, Path: l.Path, Auth: s.authFor(l, o.tok), Expect: expectSuccess}
			resp := s.send(ctx, r)
			if resp == nil || resp.Status != 200 {
				continue
			}
			byID := listByID(resp.JSON)
			for _, entry := range byID {
				for k, v := range entry {
					if str, ok := v.(string); ok {
						s.pool.add(k, str)
					}
				}
			}
			for _, it := range s.items {
				if it.create.Resource() != res {
					continue
				}
				entry, present := byID[it.id]
				want := !it.deleted && (l.Admin || it.owner == o.tok)
				switch {
				case want && !present:
					s.c.fail(r, "item %s (created by %s) is missing from the list", it.id, it.who)
				case !want && present && it.deleted:
					s.c.fail(r, "deleted item %s is still listed", it.id)
				case !want && present:
					s.c.fail(r, "item %s of the %s user is visible to the %s user", it.id, it.who, o.who)
				case present:
					if d := sameFields(it.fields, entry); d != "" {
						s.c.fail(r, "listed item %s differs from what was created: %s", it.id, d)
					}
				}
			}
			if l.Admin {
				s.filterCases(ctx, l, byID, when)
			}
		}
		if when == "after creating" {
			s.send(ctx, Req{Op: l, Case: "list with an unknown query parameter (allowed by OpenAPI)", Method: l.Method, Path: l.Path,
				Query: "contractUnknown=1", Auth: s.authFor(l, s.user), Expect: expectSuccess})
		}
	}
	for _, g := range s.byKind(KindGet) {
		for _, it := range s.items {
			if it.create.Resource() != g.Resource() {
				continue
			}
			r := Req{Op: g, Case: "get " + when, Method: g.Method, Path: s.expand(g, it.id), Auth: s.authFor(g, it.owner)}
			if it.deleted {
				r.Case, r.Expect = "get a deleted item "+when, s.notFound(g)
				s.send(ctx, r)
				continue
			}
			r.Expect = expectSuccess
			if resp := s.send(ctx, r); resp != nil && resp.Status == 200 {
				if m, ok := resp.JSON.(map[string]any); ok {
					if d := sameFields(it.fields, m); d != "" {
						s.c.fail(r, "item differs from what was created: %s", d)
					}
				}
			}
			if !g.Admin && s.other != "" {
				stranger := s.other
				if it.owner == s.other {
					stranger = s.user
				}
				s.send(ctx, Req{Op: g, Case: "get another user's item " + when, Method: g.Method, Path: s.expand(g, it.id),
					Auth: s.authFor(g, stranger), Expect: s.notFound(g)})
			}
		}
	}
}

// notFound is what reading a missing item must answer: 404 if listed.
func (s *Suite) notFound(op *Op) Expect {
	if op.Lists(http.StatusNotFound) {
		return expectStatus(http.StatusNotFound)
	}
	return expectInvalid
}

func listByID(v any) map[string]map[string]any {
	out := map[string]map[string]any{}
	arr, _ := v.([]any)
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				out[id] = m
			}
		}
	}
	return out
}

// filterCases: a query parameter named like a property of the listed items
// filters on it, and an unknown value matches nothing.
func (s *Suite) filterCases(ctx context.Context, l *Op, byID map[string]map[string]any, when string) {
	var sample map[string]any
	for _, it := range s.live(l.Resource()) {
		if e, ok := byID[it.id]; ok {
			sample = e
			break
		}
	}
	if sample == nil {
		return
	}
	for _, q := range l.QueryParams() {
		v, ok := sample[q.Name].(string)
		if !ok {
			continue
		}
		r := Req{Op: l, Case: "filter by " + q.Name + " " + when, Method: l.Method, Path: l.Path,
			Query: url.Values{q.Name: {v}}.Encode(), Auth: s.authFor(l, s.user), Expect: expectSuccess}
		resp := s.send(ctx, r)
		if resp == nil || resp.Status != 200 {
			continue
		}
		got := listByID(resp.JSON)
		if _, ok := got[sample["id"].(string)]; !ok {
			s.c.fail(r, "the item the filter value came from is missing")
		}
		for id, e := range got {
			if e[q.Name] != v {
				s.c.fail(r, "item %s has %s=%v, not %s", id, q.Name, e[q.Name], v)
			}
		}
		r = Req{Op: l, Case: "filter by an unknown " + q.Name, Method: l.Method, Path: l.Path,
			Query: url.Values{q.Name: {"contract-" + uuid.NewString()}}.Encode(), Auth: s.authFor(l, s.user), Expect: expectSuccess}
		if resp := s.send(ctx, r); resp != nil && resp.Status == 200 && len(listByID(resp.JSON)) != 0 {
			s.c.fail(r, "an unknown %s matched items", q.Name)
		}
	}
}

// actions calls item actions on the user's first item, and refuses them on
// another user's.
func (s *Suite) actions(ctx context.Context, a *Op) {
	items := s.live(a.Resource())
	if len(items) == 0 {
		s.log("%s: no item to act on (skipped)", a.ID)
		return
	}
	it := items[0]
	var body []byte
	if a.BodyType != "" {
		obj, _ := schemaValue(a.BodySchema, "", s.pool, s.rnd, s.maxLen).(map[string]any)
		body, _ = encodeBody(a.BodyType, obj)
	}
	r := Req{Op: a, Case: "action on own item", Method: a.Method, Path: s.expand(a, it.id), Auth: s.authFor(a, it.owner), CType: a.BodyType, Body: body, Expect: expectSuccess}
	if resp := s.send(ctx, r); resp != nil {
		if m, ok := resp.JSON.(map[string]any); ok {
			for k, v := range m {
				if str, ok := v.(string); ok {
					s.pool.add(k, str)
					it.fields[k] = str // e.g. the new secret replaces the old
				}
			}
		}
	}
	if !a.Admin && s.other != "" && it.owner != s.other {
		r.Case, r.Auth, r.Expect = "action on another user's item", s.authFor(a, s.other), s.notFound(a)
		s.send(ctx, r)
	}
	r.Case, r.Path, r.Auth, r.Expect = "action on a missing item", s.expand(a, uuid.NewString()), s.authFor(a, s.user), s.notFound(a)
	s.send(ctx, r)
}

// others are operations the suite cannot infer anything about (e.g. a token
// endpoint): it sends a request built from the schema, with real values from
// the pool where names match, and checks only conformance.
func (s *Suite) others(ctx context.Context, o *Op) {
	r := Req{Op: o, Case: "request from the schema", Method: o.Method, Path: s.expand(o, uuid.NewString()), Auth: s.authFor(o, s.user), Expect: expectAny}
	if o.BodyType == "" {
		s.send(ctx, r)
		return
	}
	// Values from one item of the user's (its clientId with its current
	// secret), then anything else the responses carried.
	p := pool{}
	for k, v := range s.pool {
		p[k] = v
	}
	for _, it := range s.live(s.resourceOfCreate()) {
		if it.owner == s.user {
			for k, v := range it.fields {
				if str, ok := v.(string); ok {
					p[k] = []string{str}
				}
			}
			break
		}
	}
	obj, _ := schemaValue(o.BodySchema, "", p, s.rnd, s.maxLen).(map[string]any)
	// Optional properties too, where the pool has a real value for them
	// (clientId, secret, ...): that is what makes e.g. a login succeed.
	for _, name := range sortedProps(o.BodySchema) {
		if _, ok := obj[name]; !ok {
			if v, ok := p.lookup(name); ok {
				obj[name] = v
			}
		}
	}
	// One request per value of each enum property (e.g. each grant_type).
	variants := []namedBody{{"request from the schema", obj}}
	for _, name := range sortedProps(o.BodySchema) {
		ps := o.BodySchema.Properties[name].Value
		if ps == nil {
			continue
		}
		for i, e := range ps.Enum {
			if i > 0 && i < 8 {
				variants = append(variants, namedBody{fmt.Sprintf("request from the schema, %s=%v", name, e), with(obj, name, e)})
			}
		}
	}
	for _, v := range variants {
		r.Case = v.why
		r.Body, _ = encodeBody(o.BodyType, v.body)
		r.CType = o.BodyType
		s.send(ctx, r)
	}
}

// resourceOfCreate is the resource of the first create operation ("" if none).
func (s *Suite) resourceOfCreate() string {
	if cs := s.byKind(KindCreate); len(cs) > 0 {
		return cs[0].Resource()
	}
	return ""
}

// deletes removes one of the user's items with d, after checking another
// user cannot; deleting again is a 404.
func (s *Suite) deletes(ctx context.Context, d *Op) {
	var it *item
	for _, x := range s.live(d.Resource()) {
		if x.owner == s.user {
			it = x
			break
		}
	}
	if it == nil {
		s.log("%s: no item to delete (skipped)", d.ID)
		return
	}
	path := s.expand(d, it.id)
	if !d.Admin && s.other != "" {
		s.send(ctx, Req{Op: d, Case: "delete another user's item", Method: d.Method, Path: path, Auth: s.authFor(d, s.other), Expect: s.notFound(d)})
	}
	if resp := s.send(ctx, Req{Op: d, Case: "delete", Method: d.Method, Path: path, Auth: s.authFor(d, it.owner), Expect: expectSuccess}); resp != nil && resp.Status/100 == 2 {
		it.deleted = true
	}
	s.send(ctx, Req{Op: d, Case: "delete again", Method: d.Method, Path: path, Auth: s.authFor(d, it.owner), Expect: s.notFound(d)})
}

func (s *Suite) cleanup(ctx context.Context) {
	dels := s.byKind(KindDelete)
	for _, it := range s.items {
		if it.deleted {
			continue
		}
		for _, d := range dels {
			if d.Resource() != it.create.Resource() {
				continue
			}
			if resp := s.send(ctx, Req{Op: d, Case: "cleanup", Method: d.Method, Path: s.expand(d, it.id), Auth: s.authFor(d, it.owner), Expect: expectSuccess}); resp != nil && resp.Status/100 == 2 {
				it.deleted = true
				break
			}
		}
	}
}

// validRequest is a request to op that the spec accepts, for the invalid
// cases to break one thing at a time.
func (s *Suite) validRequest(op *Op, why string) Req {
	r := Req{Op: op, Case: why, Method: op.Method, Path: s.expand(op, uuid.NewString()), Auth: s.authFor(op, s.user), Direct: true}
	if op.BodyType != "" {
		var p pool
		if op.Kind() != KindCreate {
			p = s.pool
		}
		obj, _ := schemaValue(op.BodySchema, "", p, s.rnd, s.maxLen).(map[string]any)
		r.Body, _ = encodeBody(op.BodyType, obj)
		r.CType = op.BodyType
	}
	return r
}

// authCases: every secured operation answers 401 to a missing, garbled,
// foreign or expired token, and an administration operation 403 to a user.
func (s *Suite) authCases(ctx context.Context, op *Op) {
	if !op.Secured {
		return
	}
	valid := s.user
	if op.Admin {
		valid = s.admin
	}
	cases := []namedValue{
		{"no Authorization header", ""},
		{"scheme without token", "Bearer"},
		{"scheme and blank token", "Bearer   "},
		{"not a JWT", "Bearer not-a-jwt"},
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass"))},
		{"token without scheme", valid},
		{"tampered signature", "Bearer " + tamper(valid)},
		{"truncated token", "Bearer " + valid[:len(valid)/2]},
		{"signed by an unknown key", "Bearer " + foreignToken(valid)},
		{"alg none", "Bearer " + noneToken(valid)},
	}
	if s.expired != "" {
		cases = append(cases, namedValue{"expired token", "Bearer " + s.expired})
	}
	for _, c := range cases {
		r := s.validRequest(op, "auth: "+c.Why)
		r.Auth, r.Expect = c.Value, expectStatus(http.StatusUnauthorized)
		s.send(ctx, r)
	}
	if op.Admin && op.Lists(http.StatusForbidden) {
		r := s.validRequest(op, "auth: a user's token on an administration operation")
		r.Auth, r.Expect = bearer(s.user), expectStatus(http.StatusForbidden)
		s.send(ctx, r)
	}
}

// tamper flips one character of the signature.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 || i+2 >= len(tok) {
		return tok + "x"
	}
	b := []byte(tok)
	j := i + 1 + (len(tok)-i-1)/2
	if b[j] == 'A' {
		b[j] = 'B'
	} else {
		b[j] = 'A'
	}
	return string(b)
}

func claimsOf(tok string) jwt.MapClaims {
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(tok, claims)
	return claims
}

// foreignToken has the same claims and header kid, signed by a fresh key.
func foreignToken(tok string) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	t, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	nt := jwt.NewWithClaims(jwt.SigningMethodES256, claimsOf(tok))
	if t != nil {
		if kid, ok := t.Header["kid"]; ok {
			nt.Header["kid"] = kid
		}
	}
	s, _ := nt.SignedString(key)
	return s
}

func noneToken(tok string) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claimsOf(tok)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

// pathCases: ids that are not ids, or name nothing, are a 4xx.
func (s *Suite) pathCases(ctx context.Context, op *Op) {
	if len(op.PathParams()) == 0 {
		return
	}
	ids := []namedValue{
		{"not a UUID", "not-an-id"},
		{"a number", "1"},
		{"the nil UUID", "00000000-0000-0000-0000-000000000000"},
		{"an unknown UUID", uuid.NewString()},
		{"an upper-case UUID", strings.ToUpper(uuid.NewString())},
		{"a UUID without hyphens", strings.ReplaceAll(uuid.NewString(), "-", "")},
		{"a UUID in braces", "{" + uuid.NewString() + "}"},
		{"whitespace", " "},
		{"a NUL byte", "\x00"},
		{"non-ASCII", "é"},
		{"invalid UTF-8", "\xff\xfe"},
		{"a slash", "a/b"},
		{"dot-dot", ".."},
		{"SQL", "' OR '1'='1"},
		{"1000 characters", strings.Repeat("a", 1000)},
	}
	for _, it := range s.items { // deleted items are ids that no longer name anything
		if it.deleted && it.create.Resource() == op.Resource() {
			ids = append(ids, namedValue{"a deleted item's id", it.id}, namedValue{"a deleted item's id, upper-cased", strings.ToUpper(it.id)})
			break
		}
	}
	for _, id := range ids {
		r := s.validRequest(op, "path id: "+id.Why)
		r.Path, r.Expect = s.expand(op, id.Value), expectInvalid
		s.send(ctx, r)
	}
}

// bodyCases: each way the schema can be broken, and bodies that are not the
// declared media type at all, are a 4xx.
func (s *Suite) bodyCases(ctx context.Context, op *Op) {
	if op.BodyType == "" {
		return
	}
	auth := s.authFor(op, s.user)
	var p pool
	if op.Kind() != KindCreate {
		p = s.pool
	}
	base, _ := schemaValue(op.BodySchema, "", p, s.rnd, s.maxLen).(map[string]any)
	// Every case here breaks the schema or the media type, so Prism must
	// refuse each one too (checked with --prism), except the oversized body.
	send := func(why string, ctype string, body []byte) {
		s.send(ctx, Req{Op: op, Case: "body: " + why, Method: op.Method, Path: s.expand(op, uuid.NewString()), Auth: auth,
			CType: ctype, Body: body, Direct: true, PrismMustRefuse: true, Expect: expectInvalid})
	}
	sendObj := func(why string, obj map[string]any) {
		b, _ := encodeBody(op.BodyType, obj)
		send(why, op.BodyType, b)
	}
	for _, req := range op.BodySchema.Required {
		sendObj("without required "+req, without(base, req))
	}
	for _, name := range sortedProps(op.BodySchema) {
		ps := op.BodySchema.Properties[name].Value
		if ps == nil {
			continue
		}
		if op.BodyType == "application/json" {
			for _, w := range wrongTypes(ps) {
				obj := with(base, name, json.RawMessage(w.Value))
				sendObj(name+" is "+w.Why, obj)
			}
		}
		if ps.Pattern != "" {
			if g, err := newPatternGen(ps.Pattern, s.rnd); err == nil {
				for _, v := range g.Invalid() {
					sendObj(fmt.Sprintf("%s breaks %s: %s %q", name, ps.Pattern, v.Why, v.Value), with(base, name, v.Value))
				}
			}
		}
		if ps.MaxLength != nil {
			sendObj(name+" over maxLength", with(base, name, strings.Repeat("a", int(*ps.MaxLength)+1)))
		}
		if ps.MinLength > 0 {
			sendObj(name+" under minLength", with(base, name, strings.Repeat("a", int(ps.MinLength)-1)))
		}
		if len(ps.Enum) > 0 {
			sendObj(name+" outside its enum", with(base, name, "contract-not-in-enum"))
		}
	}
	good, _ := encodeBody(op.BodyType, base)
	if op.BodyRequired {
		send("empty body", op.BodyType, nil)
		send("no body and no Content-Type", "", nil)
	}
	if op.BodyType == "application/json" {
		if len(op.BodySchema.Required) > 0 {
			send("empty object", op.BodyType, []byte(`{}`))
		}
		for _, v := range []string{`[]`, `"text"`, `12`, `true`, `null`, "[" + string(good) + "]"} {
			if v == `null` && !op.BodyRequired {
				// With an optional body, kin-openapi and Prism both read
				// null as no body at all: only conformance is checked.
				s.send(ctx, Req{Op: op, Case: "body: JSON null for an optional body", Method: op.Method, Path: s.expand(op, uuid.NewString()),
					Auth: auth, CType: op.BodyType, Body: []byte(v), Direct: true, Expect: expectAny})
				continue
			}
			send("JSON "+v+" instead of an object", op.BodyType, []byte(v))
		}
		for _, v := range []string{`{"name":`, `{name: "ab"}`, `name=ab`, `<app><name>ab</name></app>`, "\xff\xfe\x00", string(good) + "}"} {
			send(fmt.Sprintf("not JSON: %q", v), op.BodyType, []byte(v))
		}
	}
	for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json-patch+json"} {
		if ct == op.BodyType || op.Op.RequestBody.Value.Content.Get(ct) != nil {
			continue
		}
		r := Req{Op: op, Case: "body: Content-Type " + ct + " with a valid " + op.BodyType + " body", Method: op.Method,
			Path: s.expand(op, uuid.NewString()), Auth: auth, CType: ct, Body: good, Direct: true, Expect: expectInvalid}
		// Prism lets a structured-syntax suffix (+json) stand for
		// application/json; the spec names application/json only, and the
		// service holds to that, so Prism is not asked to agree here.
		r.PrismMustRefuse = !strings.HasSuffix(strings.SplitN(ct, ";", 2)[0], "+json")
		s.send(ctx, r)
	}
	send("a valid body without Content-Type", "", good)
	huge := append([]byte(`{"pad":"`+strings.Repeat(" ", 2<<20)+`",`), good[1:]...)
	s.send(ctx, Req{Op: op, Case: "body: a 2 MiB body (413)", Method: op.Method, Path: s.expand(op, uuid.NewString()), Auth: auth,
		CType: op.BodyType, Body: huge, Direct: true, Expect: expectInvalid})
}

// queryCases: odd values of declared query parameters must not upset the
// service: a listed answer, never a 5xx.
func (s *Suite) queryCases(ctx context.Context, op *Op) {
	for _, q := range op.QueryParams() {
		for _, v := range []namedValue{{"empty", ""}, {"NUL", "\x00"}, {"invalid UTF-8", "\xff"}, {"2000 chars", strings.Repeat("z", 2000)}, {"SQL", "' OR 1=1 --"}} {
			r := s.validRequest(op, "query "+q.Name+": "+v.Why)
			r.Query, r.Expect = q.Name+"="+url.QueryEscape(v.Value), expectAny
			s.send(ctx, r)
		}
		r := s.validRequest(op, "query "+q.Name+" repeated")
		r.Query, r.Expect = q.Name+"=a&"+q.Name+"=b", expectAny
		s.send(ctx, r)
	}
	r := s.validRequest(op, "query: an unknown parameter")
	r.Query, r.Expect = "contractUnknown=1", expectAny
	if op.Kind() == KindCreate {
		return // would create an item outside the suite's books
	}
	s.send(ctx, r)
}

// methodCases: methods a path does not define get an Error, never a 5xx.
func (s *Suite) methodCases(ctx context.Context) {
	done := map[string]bool{}
	for _, op := range s.ops {
		if done[op.Path] {
			continue
		}
		done[op.Path] = true
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if op.PathItem.GetOperation(m) != nil {
				continue
			}
			s.send(ctx, Req{Case: "method " + m + " not defined on " + op.Path, Method: m, Path: s.expand(op, uuid.NewString()),
				Auth: bearer(s.admin), Direct: true, Expect: expectInvalid})
		}
	}
	s.send(ctx, Req{Case: "a path outside the spec", Method: http.MethodGet, Path: "/api/v1/contract-no-such-path",
		Auth: bearer(s.user), Direct: true, Expect: expectInvalid})
}
