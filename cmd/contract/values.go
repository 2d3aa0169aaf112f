package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Values are drawn from the schemas alone, with one addition: a pool of the
// string values responses carried, by property name, so that a request
// property named like a response property (clientId, secret, ...) can reuse a
// real one.
type pool map[string][]string

func (p pool) add(name, v string) {
	for _, x := range p[name] {
		if x == v {
			return
		}
	}
	p[name] = append(p[name], v)
}

// lookup finds a pooled value for a property: exact name first, then a pooled
// name that ends the property's name (clientSecret -> secret).
func (p pool) lookup(name string) (string, bool) {
	if vs := p[name]; len(vs) > 0 {
		return vs[len(vs)-1], true
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || (len(keys[i]) == len(keys[j]) && keys[i] < keys[j])
	})
	for _, k := range keys { // client_id, clientID -> clientId
		if len(p[k]) > 0 && normName(name) == normName(k) {
			return p[k][len(p[k])-1], true
		}
	}
	for _, k := range keys { // client_secret -> secret
		if len(p[k]) > 0 && strings.HasSuffix(normName(name), normName(k)) {
			return p[k][len(p[k])-1], true
		}
	}
	return "", false
}

func normName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

// patternGen generates strings a regular expression accepts, and strings it
// rejects, by walking its syntax tree; the compiled expression is the judge.
type patternGen struct {
	src string
	re  *syntax.Regexp
	rx  *regexp.Regexp
	rnd *rand.Rand
}

func newPatternGen(pattern string, rnd *rand.Rand) (*patternGen, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	rx, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return &patternGen{src: pattern, re: re.Simplify(), rx: rx, rnd: rnd}, nil
}

// gen walks the tree; reps decides each repetition's count.
func (g *patternGen) gen(reps func(min, max int) int) string {
	var b strings.Builder
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpLiteral:
			b.WriteString(string(r.Rune))
		case syntax.OpCharClass:
			b.WriteRune(g.pickRune(r.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteRune('a' + rune(g.rnd.IntN(26)))
		case syntax.OpCapture:
			walk(r.Sub[0])
		case syntax.OpConcat:
			for _, s := range r.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(r.Sub[g.rnd.IntN(len(r.Sub))])
		case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
			min, max := 0, -1
			switch r.Op {
			case syntax.OpPlus:
				min = 1
			case syntax.OpQuest:
				max = 1
			case syntax.OpRepeat:
				min, max = r.Min, r.Max
			}
			n := reps(min, max)
			for range n {
				walk(r.Sub[0])
			}
		}
	}
	walk(g.re)
	return b.String()
}

// pickRune picks a printable rune from a class given as [lo,hi] pairs.
func (g *patternGen) pickRune(pairs []rune) rune {
	for range 100 {
		i := g.rnd.IntN(len(pairs)/2) * 2
		lo, hi := pairs[i], pairs[i+1]
		if hi-lo > 0x7e {
			hi = lo + 0x7e
		}
		r := lo + rune(g.rnd.IntN(int(hi-lo)+1))
		if unicode.IsPrint(r) {
			return r
		}
	}
	return pairs[0]
}

func minReps(min, _ int) int { return min }

func (g *patternGen) randomReps(limit int) func(min, max int) int {
	return func(min, max int) int {
		if max < 0 || max > min+limit {
			max = min + limit
		}
		return min + g.rnd.IntN(max-min+1)
	}
}

// namedValue is a generated value and why it was chosen.
type namedValue struct {
	Why   string
	Value string
}

// Valid returns accepted strings that cover the pattern's edges: the
// shortest, each non-alphanumeric character the pattern allows somewhere
// inside, the longest (maxLen), and a few random ones.
func (g *patternGen) Valid(maxLen int) []namedValue {
	var out []namedValue
	seen := map[string]bool{}
	add := func(why, v string) {
		if v != "" && !seen[v] && g.rx.MatchString(v) && len(v) <= maxLen {
			seen[v] = true
			out = append(out, namedValue{why, v})
		}
	}
	shortest := g.gen(minReps)
	add(fmt.Sprintf("shortest (%d chars)", len(shortest)), shortest)

	samples := make([]string, 0, 3000)
	for range 3000 {
		samples = append(samples, g.gen(g.randomReps(6)))
	}
	specials := map[rune]bool{}
	for _, s := range samples {
		for _, r := range s {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				specials[r] = true
			}
		}
	}
	keys := make([]rune, 0, len(specials))
	for r := range specials {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, r := range keys {
		best := ""
		for _, s := range samples {
			if i := strings.IndexRune(s, r); i > 0 && i < len(s)-1 && (best == "" || len(s) < len(best)) {
				best = s
			}
		}
		add(fmt.Sprintf("%q inside", r), best)
	}
	add("with a digit inside", firstMatching(samples, func(s string) bool { return strings.ContainsAny(s[1:], "0123456789") }))

	// The longest: grow the repetitions until the string reaches maxLen.
	for _, s := range []string{g.longest(maxLen)} {
		add(fmt.Sprintf("longest accepted (%d chars)", len(s)), s)
	}
	for i := 0; i < 3 && i < len(samples); i++ {
		add("random", samples[len(samples)-1-i])
	}
	return out
}

func firstMatching(ss []string, f func(string) bool) string {
	for _, s := range ss {
		if len(s) > 1 && f(s) {
			return s
		}
	}
	return ""
}

// longest returns an accepted string of exactly n characters if the pattern
// allows one, found by growing the first unbounded repetition.
func (g *patternGen) longest(n int) string {
	lo, hi := 0, n
	best := ""
	for lo <= hi { // the length is monotone in the repetition count
		mid := (lo + hi) / 2
		first := true
		s := g.gen(func(min, max int) int {
			if first && (max < 0 || max >= min+mid) {
				first = false
				return min + mid
			}
			return min
		})
		switch {
		case len(s) == n:
			return s
		case len(s) < n:
			best, lo = s, mid+1
		default:
			hi = mid - 1
		}
	}
	return best
}

// probes are characters tried at each position to break a pattern.
var probes = []rune{'a', 'z', 'A', 'Z', '0', '9', '-', '_', '.', ' ', '/', '~', '+', '@', ':', 'é', '\n', '\t', 0}

func runeClass(r rune) string {
	switch {
	case r >= 'a' && r <= 'z':
		return "lowercase"
	case r >= 'A' && r <= 'Z':
		return "uppercase"
	case r >= '0' && r <= '9':
		return "digit"
	case r > unicode.MaxASCII:
		return "non-ASCII"
	}
	return fmt.Sprintf("%q", r)
}

// Invalid returns strings the pattern rejects, one per way of breaking it:
// each kind of character in first, last and inner position, too short, empty,
// surrounded by whitespace, with a trailing newline (which some regex
// dialects let `$` accept).
func (g *patternGen) Invalid() []namedValue {
	base := ""
	for range 200 { // a mid-length valid string to mutate
		if s := g.gen(g.randomReps(4)); len(s) >= 4 && !strings.ContainsAny(s, "-_") {
			base = s
			break
		}
	}
	if base == "" {
		base = g.gen(g.randomReps(4))
	}
	var out []namedValue
	seen := map[string]bool{}
	add := func(why, v string) {
		if !seen[why] && !g.rx.MatchString(v) {
			seen[why] = true
			out = append(out, namedValue{why, v})
		}
	}
	add("empty", "")
	rs := []rune(base)
	add("one character", string(rs[:1]))
	for _, p := range probes {
		c := runeClass(p)
		add(c+" first", string(p)+string(rs[1:]))
		add(c+" last", string(rs[:len(rs)-1])+string(p))
		add(c+" inside", string(rs[:len(rs)/2])+string(p)+string(rs[len(rs)/2:]))
	}
	add("upper-cased", strings.ToUpper(base))
	add("leading space", " "+base)
	add("trailing space", base+" ")
	add("trailing newline", base+"\n")
	return out
}

// schemaValue builds a value valid against s, for property name.
func schemaValue(s *openapi3.Schema, name string, p pool, rnd *rand.Rand, maxLen int) any {
	if s == nil {
		return "x"
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case s.Type.Is(openapi3.TypeObject) || (s.Type == nil && len(s.Properties) > 0):
		obj := map[string]any{}
		for _, req := range s.Required {
			if ps := s.Properties[req]; ps != nil {
				obj[req] = schemaValue(ps.Value, req, p, rnd, maxLen)
			}
		}
		return obj
	case s.Type.Is(openapi3.TypeArray):
		var item *openapi3.Schema
		if s.Items != nil {
			item = s.Items.Value
		}
		return []any{schemaValue(item, name, p, rnd, maxLen)}
	case s.Type.Is(openapi3.TypeInteger):
		if s.Min != nil {
			return int(*s.Min)
		}
		return 1
	case s.Type.Is(openapi3.TypeNumber):
		if s.Min != nil {
			return *s.Min
		}
		return 1.5
	case s.Type.Is(openapi3.TypeBoolean):
		return true
	}
	if v, ok := p.lookup(name); ok {
		return v
	}
	if s.Pattern != "" {
		if g, err := newPatternGen(s.Pattern, rnd); err == nil {
			if vs := g.Valid(maxLen); len(vs) > 0 {
				return vs[len(vs)-1].Value // a random one
			}
		}
	}
	switch s.Format {
	case "uuid":
		return "0f8fad5b-d9cb-469f-a165-70867728950e"
	case "date-time":
		return "2026-01-02T03:04:05Z"
	case "email":
		return "contract@example.com"
	}
	n := int(s.MinLength)
	if n < 3 {
		n = 3
	}
	return strings.Repeat("x", n)
}

// wrongTypes are JSON values of every type but the schema's.
func wrongTypes(s *openapi3.Schema) []namedValue {
	all := []struct {
		typ string
		v   string
	}{
		{openapi3.TypeString, `"text"`}, {openapi3.TypeInteger, `12`}, {openapi3.TypeNumber, `1.5`},
		{openapi3.TypeBoolean, `true`}, {openapi3.TypeArray, `["a"]`}, {openapi3.TypeObject, `{"a":1}`},
		{"null", `null`},
	}
	var out []namedValue
	for _, w := range all {
		switch {
		case s.Type.Is(w.typ),
			w.typ == openapi3.TypeInteger && s.Type.Is(openapi3.TypeNumber),
			w.typ == "null" && s.Nullable:
			continue
		}
		out = append(out, namedValue{"a " + w.typ + " instead of " + strings.Join(s.Type.Slice(), "|"), w.v})
	}
	return out
}

// encodeBody renders obj in the operation's media type.
func encodeBody(mediaType string, obj map[string]any) ([]byte, error) {
	if mediaType == "application/x-www-form-urlencoded" {
		v := url.Values{}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v.Set(k, fmt.Sprint(obj[k]))
		}
		return []byte(v.Encode()), nil
	}
	return jsonMarshal(obj)
}
