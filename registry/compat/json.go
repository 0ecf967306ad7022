package compat

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonFormat is the JSON (JSON Schema) schema type. Parse validates with
// santhosh-tekuri/jsonschema (draft-07 unless the schema's $schema says
// otherwise); CanRead follows the Confluent Schema Registry's JSON Schema
// diff (io.confluent.kafka.schemaregistry.json.diff): the differences from
// the writer (Confluent's "original") to the reader (its "update") are
// listed, and those outside its strict set of compatible changes are
// reported.
type jsonFormat struct{}

func init() { register("JSON", jsonFormat{}) }

// jsonBase is the base URL of a schema without an absolute $id: relative
// reference names resolve against it.
const jsonBase = "https://schema-registry.invalid/schemas/"

const jsonMainURL = jsonBase + "schema.json"

// Parse checks that s is a JSON Schema whose $refs all resolve (within
// itself or to s.Refs by name) and returns its compacted JSON.
func (jsonFormat) Parse(s Schema) (canonical string, err error) {
	defer func() {
		if p := recover(); p != nil {
			canonical, err = "", fmt.Errorf("internal error parsing the JSON schema: %v", p)
		}
	}()
	canonical, err = compactSchemaJSON(s.Text)
	if err != nil {
		return "", err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s.Text))
	if err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	switch doc.(type) {
	case map[string]any, bool:
	default:
		return "", errors.New("invalid JSON schema: a schema is an object or a boolean")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(jsNoLoader{})
	mainURL := jsonMainURL
	if id := jsRootID(doc); id != "" {
		mainURL = id
	}
	for i, ref := range s.Refs {
		rdoc, err := jsonschema.UnmarshalJSON(strings.NewReader(ref.Text))
		if err != nil {
			return "", fmt.Errorf("reference %q: invalid JSON: %w", ref.Name, err)
		}
		urls := jsRefURLs(ref.Name, mainURL)
		if len(urls) == 0 {
			return "", fmt.Errorf("reference %q: not a URL", ref.Name)
		}
		for j, u := range urls {
			if err := c.AddResource(u, rdoc); err != nil && j == 0 {
				return "", fmt.Errorf("reference %q: %v", ref.Name, err)
			}
		}
		// A referenced schema must itself be valid.
		if _, err := c.Compile(urls[0]); err != nil {
			return "", fmt.Errorf("reference %d %q: %v", i, ref.Name, err)
		}
	}
	if err := c.AddResource(mainURL, doc); err != nil {
		return "", fmt.Errorf("invalid JSON schema: %v", err)
	}
	if _, err := c.Compile(mainURL); err != nil {
		return "", fmt.Errorf("invalid JSON schema: %v", err)
	}
	return canonical, nil
}

// jsNoLoader refuses to fetch anything: every reference is one of the
// schema's Refs or inside the schema.
type jsNoLoader struct{}

func (jsNoLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("reference %s is neither in the schema nor among its references", u)
}

func jsRootID(doc any) string {
	m, ok := doc.(map[string]any)
	if !ok {
		return ""
	}
	id, _ := m["$id"].(string)
	if id == "" {
		id, _ = m["id"].(string)
	}
	u, err := url.Parse(id)
	if err != nil || !u.IsAbs() {
		return ""
	}
	u.Fragment = ""
	return u.String()
}

// jsRefURLs lists the absolute URLs a reference name stands for: itself if
// absolute, else resolved against the default base and the schema's $id.
func jsRefURLs(name, mainURL string) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	ru, err := url.Parse(name)
	if err != nil {
		return nil
	}
	ru.Fragment = ""
	if ru.IsAbs() {
		add(ru.String())
		return out
	}
	for _, b := range []string{jsonMainURL, mainURL} {
		bu, err := url.Parse(b)
		if err == nil {
			add(bu.ResolveReference(ru).String())
		}
	}
	return out
}

// CanRead lists Confluent's incompatible differences from writer to reader.
func (jsonFormat) CanRead(reader, writer Schema) (msgs []string) {
	defer func() {
		if p := recover(); p != nil {
			msgs = []string{fmt.Sprintf("internal error comparing JSON schemas: %v", p)}
		}
	}()
	w, err := loadJSONSchema(writer)
	if err != nil {
		return []string{"writer schema: " + err.Error()}
	}
	r, err := loadJSONSchema(reader)
	if err != nil {
		return []string{"reader schema: " + err.Error()}
	}
	d := &jsDiffer{memo: map[[2]*jsNode][]jsDiff{}, inProgress: map[[2]*jsNode]bool{}}
	for _, df := range d.compare(w, r) {
		if !jsCompatibleChanges[df.typ] {
			msgs = append(msgs, df.String())
		}
	}
	if d.err != nil {
		msgs = append(msgs, d.err.Error())
	}
	return msgs
}

// ---- schema model (after the everit model Confluent diffs) ----

type jsKind int

const (
	jsEmpty jsKind = iota // {} or a schema with no validation keyword
	jsTrue                // true
	jsFalse               // false
	jsObject
	jsArray
	jsString
	jsNumber
	jsBoolean
	jsNull
	jsEnum
	jsConst
	jsCombined
	jsNot
	jsRef
)

type jsPattern struct {
	re     *regexp.Regexp
	schema *jsNode
}

type jsNode struct {
	kind jsKind
	key  string // canonical JSON of the source, to collapse duplicate subschemas

	id, title, description, def *string
	connectType                 string

	// object
	props         map[string]*jsNode
	required      map[string]bool
	permitsAddl   bool
	addl          *jsNode
	patternProps  []jsPattern
	propDeps      map[string]map[string]bool
	schemaDeps    map[string]*jsNode
	maxProps      *float64
	minProps      *float64
	unevalProps   *jsNode
	hasUnevalProp bool

	// array
	allItems      *jsNode
	itemList      []*jsNode
	permitsAddlIt bool
	addlItems     *jsNode
	maxItems      *float64
	minItems      *float64
	unique        bool
	maxContains   *float64
	minContains   *float64
	unevalItems   *jsNode

	// string
	maxLength, minLength *float64
	pattern              *string

	// number
	maximum, minimum, exclMax, exclMin *float64
	multipleOf                         *big.Rat
	requiresInteger                    bool

	// enum, const
	enum   map[string]bool
	constV string

	// combined
	criterion string // allOf, anyOf, oneOf
	subs      []*jsNode

	// not
	not *jsNode

	// ref
	ref      string
	refBase  string
	resolved *jsNode
	loader   *jsLoader
}

// jsLoader builds nodes from decoded JSON documents and resolves $refs.
type jsLoader struct {
	docs  map[string]any // absolute URL (no fragment) -> document
	ids   map[string]jsLoc
	nodes map[string]*jsNode // by location key
	count int
}

type jsLoc struct {
	doc  string // URL of the document
	ptr  string // JSON pointer inside it
	base string // base URL in force there
}

func (l jsLoc) key() string { return l.doc + "#" + l.ptr }

func (l jsLoc) child(tokens ...string) jsLoc {
	p := l.ptr
	for _, t := range tokens {
		p += "/" + strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
	}
	return jsLoc{doc: l.doc, ptr: p, base: l.base}
}

const jsMaxNodes = 100000

func jsDecode(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func loadJSONSchema(s Schema) (*jsNode, error) {
	doc, err := jsDecode(s.Text)
	if err != nil {
		return nil, err
	}
	l := &jsLoader{docs: map[string]any{}, ids: map[string]jsLoc{}, nodes: map[string]*jsNode{}}
	mainURL := jsonMainURL
	if id := jsRootID(doc); id != "" {
		mainURL = id
	}
	for _, ref := range s.Refs {
		rdoc, err := jsDecode(ref.Text)
		if err != nil {
			return nil, fmt.Errorf("reference %q: %w", ref.Name, err)
		}
		for _, u := range jsRefURLs(ref.Name, mainURL) {
			l.addDoc(u, rdoc)
		}
		// also by the name as written, for $refs naming it verbatim
		l.addDoc(ref.Name, rdoc)
	}
	l.addDoc(mainURL, doc)
	return l.load(jsLoc{doc: mainURL, base: mainURL}, 0)
}

func (l *jsLoader) addDoc(u string, doc any) {
	if _, ok := l.docs[u]; ok {
		return
	}
	l.docs[u] = doc
	l.indexIDs(doc, jsLoc{doc: u, base: u}, 0)
}

// indexIDs records the $id (and draft-04 id, and $anchor) of subschemas.
func (l *jsLoader) indexIDs(v any, loc jsLoc, depth int) {
	if depth > 200 {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range []string{"$id", "id"} {
			if id, ok := t[k].(string); ok && id != "" {
				if abs := jsResolveURL(loc.base, id); abs != "" {
					if strings.Contains(id, "#") && !strings.HasPrefix(id, "#") {
						// a fragment in an $id is an anchor (draft-06/07)
						l.ids[abs] = loc
						abs = strings.SplitN(abs, "#", 2)[0]
					}
					if strings.HasPrefix(id, "#") {
						l.ids[abs] = loc
					} else {
						loc.base = abs
						l.ids[abs] = loc
					}
				}
				break
			}
		}
		if a, ok := t["$anchor"].(string); ok {
			l.ids[strings.SplitN(loc.base, "#", 2)[0]+"#"+a] = loc
		}
		for k, c := range t {
			if k == "enum" || k == "const" || k == "default" || k == "examples" {
				continue
			}
			l.indexIDs(c, loc.child(k), depth+1)
		}
	case []any:
		for i, c := range t {
			l.indexIDs(c, loc.child(strconv.Itoa(i)), depth+1)
		}
	}
}

func jsResolveURL(base, ref string) string {
	bu, err := url.Parse(base)
	if err != nil {
		return ""
	}
	ru, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return bu.ResolveReference(ru).String()
}

// at returns the value at a location.
func (l *jsLoader) at(loc jsLoc) (any, bool) {
	v, ok := l.docs[loc.doc]
	if !ok {
		return nil, false
	}
	if loc.ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(loc.ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := v.(type) {
		case map[string]any:
			v, ok = t[tok]
			if !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// resolve finds the location a $ref names.
func (l *jsLoader) resolve(base, ref string) (jsLoc, bool) {
	abs := jsResolveURL(base, ref)
	if abs == "" {
		return jsLoc{}, false
	}
	docURL, frag, _ := strings.Cut(abs, "#")
	if frag != "" && !strings.HasPrefix(frag, "/") {
		if loc, ok := l.ids[abs]; ok {
			return loc, true
		}
		return jsLoc{}, false
	}
	if p, err := url.PathUnescape(frag); err == nil {
		frag = p
	}
	var root jsLoc
	if loc, ok := l.ids[docURL]; ok {
		root = loc
	} else if _, ok := l.docs[docURL]; ok {
		root = jsLoc{doc: docURL, base: docURL}
	} else {
		name, _, _ := strings.Cut(ref, "#")
		if _, ok := l.docs[name]; !ok {
			return jsLoc{}, false
		}
		root = jsLoc{doc: name, base: name}
	}
	loc := jsLoc{doc: root.doc, ptr: root.ptr + frag, base: root.base}
	if _, ok := l.at(loc); !ok {
		return jsLoc{}, false
	}
	return loc, true
}

func jsPtr[T any](v T) *T { return &v }

func jsNum(v any) *float64 {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return nil
		}
		return &f
	case float64:
		return &n
	}
	return nil
}

func jsCanon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var (
	jsObjectKeywords = []string{"properties", "required", "minProperties", "maxProperties", "dependencies",
		"dependentRequired", "dependentSchemas", "patternProperties", "additionalProperties", "propertyNames", "unevaluatedProperties"}
	jsArrayKeywords  = []string{"items", "prefixItems", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains", "maxContains", "minContains", "unevaluatedItems"}
	jsNumberKeywords = []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
	jsStringKeywords = []string{"minLength", "maxLength", "pattern", "format"}
)

func jsHasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// load builds the node at loc. Like everit's loader (which Confluent's diff
// works on): a "type" (or, without one, each group of type-specific
// keywords), enum, const, not, allOf, anyOf and oneOf each give a schema;
// several are combined with a synthetic allOf; a list of types is an anyOf.
func (l *jsLoader) load(loc jsLoc, depth int) (*jsNode, error) {
	if n, ok := l.nodes[loc.key()]; ok {
		return n, nil
	}
	if l.count++; l.count > jsMaxNodes || depth > 500 {
		return nil, errors.New("schema too large or too deep to compare")
	}
	v, ok := l.at(loc)
	if !ok {
		return nil, fmt.Errorf("no schema at %s", loc.key())
	}
	switch b := v.(type) {
	case bool:
		n := &jsNode{kind: jsFalse, key: "false"}
		if b {
			n = &jsNode{kind: jsTrue, key: "true"}
		}
		l.nodes[loc.key()] = n
		return n, nil
	case map[string]any:
	default:
		return nil, fmt.Errorf("schema at %s is neither an object nor a boolean", loc.key())
	}
	m := v.(map[string]any)
	key := jsCanon(m)
	for _, k := range []string{"$id", "id"} {
		if id, ok := m[k].(string); ok && id != "" && !strings.HasPrefix(id, "#") {
			if abs := jsResolveURL(loc.base, id); abs != "" {
				loc.base, _, _ = strings.Cut(abs, "#")
			}
			break
		}
	}
	common := func(n *jsNode) {
		if id, ok := m["$id"].(string); ok {
			n.id = &id
		} else if id, ok := m["id"].(string); ok {
			n.id = &id
		}
		if t, ok := m["title"].(string); ok {
			n.title = &t
		}
		if d, ok := m["description"].(string); ok {
			n.description = &d
		}
		if d, ok := m["default"]; ok {
			n.def = jsPtr(jsCanon(d))
		}
		n.connectType, _ = m["connect.type"].(string)
	}
	if r, ok := m["$ref"].(string); ok {
		// draft-07: keywords beside $ref are ignored
		n := &jsNode{kind: jsRef, key: key, ref: r, refBase: loc.base, loader: l}
		common(n)
		l.nodes[loc.key()] = n
		return n, nil
	}

	// A placeholder first, so that a cycle through $ref finds the node.
	self := &jsNode{key: key}
	l.nodes[loc.key()] = self
	var parts []*jsNode
	var err error
	sub := func(tokens ...string) *jsNode {
		if err != nil {
			return nil
		}
		var n *jsNode
		n, err = l.load(loc.child(tokens...), depth+1)
		return n
	}
	switch t := m["type"].(type) {
	case string:
		parts = append(parts, l.typed(t, m, loc, sub))
	case []any:
		c := &jsNode{kind: jsCombined, criterion: "anyOf", key: key + "#type"}
		for _, e := range t {
			if s, ok := e.(string); ok {
				tn := l.typed(s, m, loc, sub)
				tn.key = key + "#" + s
				c.subs = append(c.subs, tn)
			}
		}
		parts = append(parts, c)
	default:
		if jsHasAny(m, jsObjectKeywords) {
			parts = append(parts, l.typed("object", m, loc, sub))
		}
		if jsHasAny(m, jsArrayKeywords) {
			parts = append(parts, l.typed("array", m, loc, sub))
		}
		if jsHasAny(m, jsNumberKeywords) {
			parts = append(parts, l.typed("number", m, loc, sub))
		}
		if jsHasAny(m, jsStringKeywords) {
			parts = append(parts, l.typed("string", m, loc, sub))
		}
		for _, p := range parts {
			p.key = key + "#implicit" + strconv.Itoa(int(p.kind))
		}
	}
	if e, ok := m["enum"].([]any); ok {
		n := &jsNode{kind: jsEnum, enum: map[string]bool{}, key: key + "#enum"}
		for _, x := range e {
			n.enum[jsCanon(x)] = true
		}
		parts = append(parts, n)
	}
	if c, ok := m["const"]; ok {
		parts = append(parts, &jsNode{kind: jsConst, constV: jsCanon(c), key: key + "#const"})
	}
	if _, ok := m["not"]; ok {
		parts = append(parts, &jsNode{kind: jsNot, not: sub("not"), key: key + "#not"})
	}
	for _, crit := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := m[crit].([]any); ok {
			c := &jsNode{kind: jsCombined, criterion: crit, key: key + "#" + crit}
			for i := range list {
				c.subs = append(c.subs, sub(crit, strconv.Itoa(i)))
			}
			parts = append(parts, c)
		}
	}
	if err != nil {
		return nil, err
	}
	switch len(parts) {
	case 0:
		self.kind = jsEmpty
	case 1:
		*self = *parts[0]
		self.key = key
	default:
		self.kind = jsCombined
		self.criterion = "allOf"
		self.subs = parts
	}
	common(self)
	for _, p := range parts {
		common(p)
	}
	return self, nil
}

// typed builds the schema of one type from the keywords of m.
func (l *jsLoader) typed(typ string, m map[string]any, loc jsLoc, sub func(...string) *jsNode) *jsNode {
	n := &jsNode{}
	switch typ {
	case "object":
		n.kind = jsObject
		n.props = map[string]*jsNode{}
		if p, ok := m["properties"].(map[string]any); ok {
			for k := range p {
				n.props[k] = sub("properties", k)
			}
		}
		n.required = map[string]bool{}
		if r, ok := m["required"].([]any); ok {
			for _, x := range r {
				if s, ok := x.(string); ok {
					n.required[s] = true
				}
			}
		}
		n.permitsAddl = true
		switch a := m["additionalProperties"].(type) {
		case bool:
			n.permitsAddl = a
		case map[string]any:
			n.addl = sub("additionalProperties")
		}
		if pp, ok := m["patternProperties"].(map[string]any); ok {
			keys := jsSortedKeys(pp)
			for _, k := range keys {
				re, err := regexp.Compile(k)
				if err != nil {
					continue // santhosh accepted it (ECMA); Go's RE2 does not
				}
				n.patternProps = append(n.patternProps, jsPattern{re: re, schema: sub("patternProperties", k)})
			}
		}
		n.propDeps = map[string]map[string]bool{}
		n.schemaDeps = map[string]*jsNode{}
		for _, kw := range []string{"dependencies", "dependentRequired", "dependentSchemas"} {
			d, ok := m[kw].(map[string]any)
			if !ok {
				continue
			}
			for k, x := range d {
				if arr, ok := x.([]any); ok {
					set := map[string]bool{}
					for _, e := range arr {
						if s, ok := e.(string); ok {
							set[s] = true
						}
					}
					n.propDeps[k] = set
				} else {
					n.schemaDeps[k] = sub(kw, k)
				}
			}
		}
		n.maxProps = jsNum(m["maxProperties"])
		n.minProps = jsNum(m["minProperties"])
		if _, ok := m["unevaluatedProperties"]; ok {
			n.unevalProps = sub("unevaluatedProperties")
		}
	case "array":
		n.kind = jsArray
		prefix, hasPrefix := m["prefixItems"].([]any)
		if hasPrefix {
			for i := range prefix {
				n.itemList = append(n.itemList, sub("prefixItems", strconv.Itoa(i)))
			}
		}
		n.permitsAddlIt = true
		addlKey := "additionalItems"
		switch it := m["items"].(type) {
		case []any:
			for i := range it {
				n.itemList = append(n.itemList, sub("items", strconv.Itoa(i)))
			}
		case map[string]any:
			if hasPrefix {
				addlKey = "items" // 2020-12: items after prefixItems
			} else {
				n.allItems = sub("items")
			}
		case bool:
			// Confluent reads a boolean items as additionalItems (no
			// tuple: every item is an additional one).
			addlKey = "items"
		}
		switch a := m[addlKey].(type) {
		case bool:
			n.permitsAddlIt = a
		case map[string]any:
			n.addlItems = sub(addlKey)
		}
		n.maxItems = jsNum(m["maxItems"])
		n.minItems = jsNum(m["minItems"])
		n.unique, _ = m["uniqueItems"].(bool)
		n.maxContains = jsNum(m["maxContains"])
		n.minContains = jsNum(m["minContains"])
		if _, ok := m["unevaluatedItems"]; ok {
			n.unevalItems = sub("unevaluatedItems")
		}
	case "string":
		n.kind = jsString
		n.maxLength = jsNum(m["maxLength"])
		n.minLength = jsNum(m["minLength"])
		if p, ok := m["pattern"].(string); ok {
			n.pattern = &p
		}
	case "integer", "number":
		n.kind = jsNumber
		n.requiresInteger = typ == "integer"
		n.maximum = jsNum(m["maximum"])
		n.minimum = jsNum(m["minimum"])
		n.exclMax = jsNum(m["exclusiveMaximum"]) // a draft-04 boolean counts as absent
		n.exclMin = jsNum(m["exclusiveMinimum"])
		if mo, ok := m["multipleOf"].(json.Number); ok {
			if r, ok := new(big.Rat).SetString(mo.String()); ok {
				n.multipleOf = r
			}
		}
	case "boolean":
		n.kind = jsBoolean
	case "null":
		n.kind = jsNull
	default:
		n.kind = jsEmpty
	}
	return n
}

func jsSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- differences ----

type jsDiff struct {
	typ  string
	path string // relative to the compared pair, "" for its root
}

func (d jsDiff) jsonPath() string { return "#/" + d.path }

func (d jsDiff) String() string {
	return fmt.Sprintf("{errorType:%q, description:%q}", d.typ, jsDescription(d.typ, d.jsonPath()))
}

// jsCompatibleChanges is Confluent's COMPATIBLE_CHANGES_STRICT (its default
// policy): every other difference makes the reader unable to read.
var jsCompatibleChanges = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`
		ID_CHANGED DESCRIPTION_CHANGED TITLE_CHANGED DEFAULT_CHANGED SCHEMA_REMOVED TYPE_EXTENDED
		MAX_LENGTH_INCREASED MAX_LENGTH_REMOVED MIN_LENGTH_DECREASED MIN_LENGTH_REMOVED PATTERN_REMOVED
		MAXIMUM_INCREASED MAXIMUM_REMOVED MINIMUM_DECREASED MINIMUM_REMOVED
		EXCLUSIVE_MAXIMUM_INCREASED EXCLUSIVE_MAXIMUM_REMOVED EXCLUSIVE_MINIMUM_DECREASED EXCLUSIVE_MINIMUM_REMOVED
		MULTIPLE_OF_REDUCED MULTIPLE_OF_REMOVED
		REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED REQUIRED_ATTRIBUTE_REMOVED DEPENDENCY_ARRAY_NARROWED
		DEPENDENCY_ARRAY_REMOVED DEPENDENCY_SCHEMA_REMOVED MAX_PROPERTIES_INCREASED MAX_PROPERTIES_REMOVED
		MIN_PROPERTIES_DECREASED MIN_PROPERTIES_REMOVED ADDITIONAL_PROPERTIES_ADDED ADDITIONAL_PROPERTIES_EXTENDED
		UNEVALUATED_PROPERTIES_ADDED UNEVALUATED_PROPERTIES_EXTENDED
		PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
		OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
		PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
		PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
		MAX_ITEMS_INCREASED MAX_ITEMS_REMOVED MIN_ITEMS_DECREASED MIN_ITEMS_REMOVED
		MAX_CONTAINS_INCREASED MAX_CONTAINS_REMOVED MIN_CONTAINS_DECREASED MIN_CONTAINS_REMOVED
		UNIQUE_ITEMS_REMOVED ADDITIONAL_ITEMS_ADDED ADDITIONAL_ITEMS_EXTENDED
		UNEVALUATED_ITEMS_ADDED UNEVALUATED_ITEMS_EXTENDED
		ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL ITEM_ADDED_TO_CLOSED_CONTENT_MODEL
		ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL
		ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
		ENUM_ARRAY_EXTENDED COMBINED_TYPE_EXTENDED PRODUCT_TYPE_NARROWED SUM_TYPE_EXTENDED NOT_TYPE_NARROWED`) {
		jsCompatibleChanges[t] = true
	}
}

// jsDescription words a difference as Confluent's verbose messages do, the
// reader being its "update" and the writer its "original".
func jsDescription(typ, path string) string {
	switch {
	case strings.HasSuffix(typ, "_ADDED") && !strings.Contains(typ, "CONTENT_MODEL") && !strings.HasPrefix(typ, "ADDITIONAL_") && !strings.HasPrefix(typ, "UNEVALUATED_"),
		typ == "ADDITIONAL_ITEMS_REMOVED", typ == "ADDITIONAL_PROPERTIES_REMOVED",
		typ == "UNEVALUATED_PROPERTIES_REMOVED", typ == "UNEVALUATED_ITEMS_REMOVED":
		return fmt.Sprintf("The keyword at path '%s' in the reader schema is not present in the writer schema", path)
	case strings.HasPrefix(typ, "MIN_") && strings.HasSuffix(typ, "_INCREASED"),
		typ == "MINIMUM_INCREASED", typ == "EXCLUSIVE_MINIMUM_INCREASED", typ == "MULTIPLE_OF_EXPANDED":
		return fmt.Sprintf("The value at path '%s' in the reader schema is more than its value in the writer schema", path)
	case strings.HasSuffix(typ, "_DECREASED"):
		return fmt.Sprintf("The value at path '%s' in the reader schema is less than its value in the writer schema", path)
	case typ == "PATTERN_CHANGED", typ == "MULTIPLE_OF_CHANGED", typ == "DEPENDENCY_ARRAY_CHANGED":
		return fmt.Sprintf("The value at path '%s' is different between the reader and writer schema", path)
	case typ == "TYPE_NARROWED":
		return fmt.Sprintf("A type at path '%s' is different between the reader schema and the writer schema", path)
	case strings.HasSuffix(typ, "_NARROWED"):
		return fmt.Sprintf("An array or combined type at path '%s' has fewer elements in the reader schema than the writer schema", path)
	case typ == "DEPENDENCY_ARRAY_EXTENDED", typ == "PRODUCT_TYPE_EXTENDED", typ == "SUM_TYPE_EXTENDED", typ == "NOT_TYPE_EXTENDED":
		return fmt.Sprintf("An array or combined type at path '%s' has more elements in the reader schema than the writer schema", path)
	case strings.HasSuffix(typ, "_CHANGED"):
		return fmt.Sprintf("A type at path '%s' is different between the reader schema and the writer schema", path)
	case strings.HasSuffix(typ, "ADDED_TO_OPEN_CONTENT_MODEL"):
		return fmt.Sprintf("The writer schema has an open content model and the reader schema has a property or item at path '%s' which is missing in the writer schema", path)
	case typ == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
		return fmt.Sprintf("The reader schema has a required property at path '%s' which is missing in the writer schema, whose content model is not open", path)
	case typ == "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", typ == "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL":
		return fmt.Sprintf("The reader schema has a closed content model and is missing a property or item present at path '%s' in the writer schema", path)
	case strings.HasSuffix(typ, "_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"):
		return fmt.Sprintf("A property or item is missing in the reader schema but present at path '%s' in the writer schema and is not covered by the reader's partially open content model", path)
	case strings.HasSuffix(typ, "_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"):
		return fmt.Sprintf("The reader schema has a property or item at path '%s' which is missing in the writer schema and is not covered by the writer's partially open content model", path)
	case typ == "SCHEMA_ADDED":
		return fmt.Sprintf("The reader schema has a schema at path '%s' which is missing in the writer schema", path)
	}
	return fmt.Sprintf("%s at path '%s'", typ, path)
}

func jsCompatible(diffs []jsDiff) bool {
	for _, d := range diffs {
		if !jsCompatibleChanges[d.typ] {
			return false
		}
	}
	return true
}

func jsJoinPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// jsUnder rebases diffs onto path p.
func jsUnder(p string, diffs []jsDiff) []jsDiff {
	if p == "" {
		return diffs
	}
	out := make([]jsDiff, len(diffs))
	for i, d := range diffs {
		out[i] = jsDiff{d.typ, jsJoinPath(p, d.path)}
	}
	return out
}

// jsDiffer compares an original (writer) with an update (reader). Results
// are memoized per pair; a pair met again while being compared (a
// recursive schema) counts as compatible, and results that relied on such
// an assumption are not memoized.
type jsDiffer struct {
	memo       map[[2]*jsNode][]jsDiff
	inProgress map[[2]*jsNode]bool
	optimism   int
	steps      int
	err        error
}

const jsMaxSteps = 200000

func (d *jsDiffer) deref(n *jsNode) *jsNode {
	for i := 0; n != nil && n.kind == jsRef && i < 100; i++ {
		if n.resolved == nil {
			loc, ok := n.loader.resolve(n.refBase, n.ref)
			if !ok {
				d.fail(fmt.Errorf("unresolved $ref %q", n.ref))
				return &jsNode{kind: jsEmpty}
			}
			t, err := n.loader.load(loc, 0)
			if err != nil {
				d.fail(err)
				return &jsNode{kind: jsEmpty}
			}
			n.resolved = t
		}
		n = n.resolved
	}
	if n != nil && n.kind == jsRef {
		// a $ref cycle with nothing else in it ({"$ref":"#"}) constrains nothing
		return &jsNode{kind: jsEmpty}
	}
	return n
}

func (d *jsDiffer) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *jsDiffer) compare(o, u *jsNode) []jsDiff {
	switch {
	case o == nil && u == nil:
		return nil
	case o == nil:
		return []jsDiff{{"SCHEMA_ADDED", ""}}
	case u == nil:
		return []jsDiff{{"SCHEMA_REMOVED", ""}}
	}
	if d.steps++; d.steps > jsMaxSteps {
		d.fail(errors.New("schemas too complex to compare"))
		return nil
	}
	o, u = d.deref(o), d.deref(u)
	key := [2]*jsNode{o, u}
	if r, ok := d.memo[key]; ok {
		return r
	}
	if d.inProgress[key] {
		d.optimism++
		return nil
	}
	d.inProgress[key] = true
	before := d.optimism
	r := d.compareTypes(o, u)
	delete(d.inProgress, key)
	if d.optimism == before {
		d.memo[key] = r
	}
	return r
}

func jsSameType(o, u *jsNode) bool {
	return o.kind == u.kind
}

func (d *jsDiffer) compareTypes(o, u *jsNode) []jsDiff {
	if o.kind != jsCombined && u.kind == jsCombined {
		if len(u.subs) == 1 {
			if r := d.compare(o, u.subs[0]); jsCompatible(r) {
				return r
			}
		} else if u.criterion == "anyOf" || u.criterion == "oneOf" {
			for _, s := range u.subs {
				if r := d.compare(o, s); jsCompatible(r) {
					return append(append([]jsDiff{}, r...), jsDiff{"SUM_TYPE_EXTENDED", ""})
				}
			}
		}
	} else if o.kind == jsCombined && u.kind != jsCombined {
		if len(o.subs) == 1 {
			if r := d.compare(o.subs[0], u); jsCompatible(r) {
				return r
			}
		} else if o.criterion == "allOf" {
			for _, s := range o.subs {
				if r := d.compare(s, u); jsCompatible(r) {
					return append(append([]jsDiff{}, r...), jsDiff{"PRODUCT_TYPE_NARROWED", ""})
				}
			}
		}
	}
	if !jsSameType(o, u) {
		if o.kind == jsFalse || u.kind == jsEmpty || u.kind == jsTrue {
			return nil
		}
		if o.connectType == "bytes" && u.connectType == "bytes" {
			return nil
		}
		return []jsDiff{{"TYPE_CHANGED", ""}}
	}
	var out []jsDiff
	add := func(typ, path string) { out = append(out, jsDiff{typ, path}) }
	if !jsEqStr(o.id, u.id) {
		add("ID_CHANGED", "")
	}
	if !jsEqStr(o.title, u.title) {
		add("TITLE_CHANGED", "")
	}
	if !jsEqStr(o.description, u.description) {
		add("DESCRIPTION_CHANGED", "")
	}
	if !jsEqStr(o.def, u.def) {
		add("DEFAULT_CHANGED", "")
	}
	switch o.kind {
	case jsString:
		jsCmpLimit(add, "maxLength", "MAX_LENGTH", o.maxLength, u.maxLength)
		jsCmpLimit(add, "minLength", "MIN_LENGTH", o.minLength, u.minLength)
		switch {
		case o.pattern == nil && u.pattern != nil:
			add("PATTERN_ADDED", "pattern")
		case o.pattern != nil && u.pattern == nil:
			add("PATTERN_REMOVED", "pattern")
		case o.pattern != nil && *o.pattern != *u.pattern:
			add("PATTERN_CHANGED", "pattern")
		}
	case jsNumber:
		jsCmpLimit(add, "maximum", "MAXIMUM", o.maximum, u.maximum)
		jsCmpLimit(add, "minimum", "MINIMUM", o.minimum, u.minimum)
		jsCmpLimit(add, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", o.exclMax, u.exclMax)
		jsCmpLimit(add, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", o.exclMin, u.exclMin)
		jsCmpMultipleOf(add, o.multipleOf, u.multipleOf)
		if o.requiresInteger != u.requiresInteger {
			if o.requiresInteger {
				add("TYPE_EXTENDED", "")
			} else {
				add("TYPE_NARROWED", "")
			}
		}
	case jsConst:
		if o.constV != u.constV {
			add("ENUM_ARRAY_CHANGED", "const")
		}
	case jsEnum:
		switch {
		case jsSetEq(o.enum, u.enum):
		case jsSubset(o.enum, u.enum):
			add("ENUM_ARRAY_EXTENDED", "enum")
		case jsSubset(u.enum, o.enum):
			add("ENUM_ARRAY_NARROWED", "enum")
		default:
			add("ENUM_ARRAY_CHANGED", "enum")
		}
	case jsCombined:
		out = append(out, d.compareCombined(o, u)...)
	case jsNot:
		r := d.compare(u.not, o.not) // reversed: the reader must reject less
		if jsCompatible(r) {
			add("NOT_TYPE_NARROWED", "not")
		} else {
			add("NOT_TYPE_EXTENDED", "not")
		}
	case jsObject:
		out = append(out, d.compareObject(o, u)...)
	case jsArray:
		out = append(out, d.compareArray(o, u)...)
	}
	return out
}

func jsEqStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func jsSetEq(a, b map[string]bool) bool { return len(a) == len(b) && jsSubset(a, b) }

// jsSubset tells whether every element of a is in b.
func jsSubset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// jsCmpLimit compares a numeric keyword: NAME_ADDED/REMOVED/INCREASED/DECREASED.
func jsCmpLimit(add func(string, string), kw, name string, o, u *float64) {
	switch {
	case o == nil && u == nil:
	case o == nil:
		add(name+"_ADDED", kw)
	case u == nil:
		add(name+"_REMOVED", kw)
	case *o < *u:
		add(name+"_INCREASED", kw)
	case *o > *u:
		add(name+"_DECREASED", kw)
	}
}

func jsCmpMultipleOf(add func(string, string), o, u *big.Rat) {
	isMultiple := func(a, b *big.Rat) bool { // a is a whole multiple of b
		if b.Sign() == 0 {
			return false
		}
		return new(big.Rat).Quo(a, b).IsInt()
	}
	switch {
	case o == nil && u == nil:
	case o == nil:
		add("MULTIPLE_OF_ADDED", "multipleOf")
	case u == nil:
		add("MULTIPLE_OF_REMOVED", "multipleOf")
	case o.Cmp(u) == 0:
	case isMultiple(u, o):
		add("MULTIPLE_OF_EXPANDED", "multipleOf")
	case isMultiple(o, u):
		add("MULTIPLE_OF_REDUCED", "multipleOf")
	default:
		add("MULTIPLE_OF_CHANGED", "multipleOf")
	}
}

func (d *jsDiffer) compareCombined(o, u *jsNode) []jsDiff {
	var out []jsDiff
	add := func(typ string) { out = append(out, jsDiff{typ, ""}) }
	if o.criterion != u.criterion {
		single := func(n *jsNode) bool { return len(n.subs) == 1 }
		if u.criterion == "anyOf" || (single(o) && single(u)) ||
			(single(o) && u.criterion == "oneOf") || (single(u) && o.criterion == "allOf") {
			add("COMBINED_TYPE_EXTENDED")
		} else {
			add("COMBINED_TYPE_CHANGED")
			return out
		}
	}
	os, us := jsDedupe(o.subs), jsDedupe(u.subs)
	switch {
	case len(os) < len(us):
		if u.criterion == "allOf" {
			add("PRODUCT_TYPE_EXTENDED")
		} else {
			add("SUM_TYPE_EXTENDED")
		}
	case len(os) > len(us):
		if o.criterion == "anyOf" || o.criterion == "oneOf" {
			add("SUM_TYPE_NARROWED")
		} else {
			add("PRODUCT_TYPE_NARROWED")
		}
	}
	// Compatible pairs, then a maximum matching between the two lists.
	edges := make([][][]jsDiff, len(os))
	for i, a := range os {
		edges[i] = make([][]jsDiff, len(us))
		for j, b := range us {
			r := d.compare(a, b)
			if jsCompatible(r) {
				if r == nil {
					r = []jsDiff{}
				}
				edges[i][j] = jsUnder(o.criterion+"/"+strconv.Itoa(i), r)
			}
		}
	}
	matchU := make([]int, len(us))
	for j := range matchU {
		matchU[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := range us {
			if edges[i][j] == nil || seen[j] {
				continue
			}
			seen[j] = true
			if matchU[j] < 0 || try(matchU[j], seen) {
				matchU[j] = i
				return true
			}
		}
		return false
	}
	matched := 0
	for i := range os {
		if try(i, make([]bool, len(us))) {
			matched++
		}
	}
	for j, i := range matchU {
		if i >= 0 {
			out = append(out, edges[i][j]...)
		}
	}
	if matched < min(len(os), len(us)) {
		add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	}
	return out
}

func jsDedupe(list []*jsNode) []*jsNode {
	seen := map[string]bool{}
	var out []*jsNode
	for _, n := range list {
		k := n.key
		if k == "" || !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

// isOpen: additionalProperties true or absent, no patternProperties, and
// unevaluatedProperties true or absent.
func (n *jsNode) isOpen() bool {
	if !n.permitsAddl || n.addl != nil || len(n.patternProps) > 0 {
		return false
	}
	return n.unevalProps == nil || n.unevalProps.kind == jsTrue || n.unevalProps.kind == jsEmpty
}

// partialSchema is the schema a partially open content model gives an
// undeclared property: a matching patternProperties schema, else the
// additionalProperties schema, else an unevaluatedProperties schema.
func (n *jsNode) partialSchema(prop string) *jsNode {
	for _, p := range n.patternProps {
		if p.re.MatchString(prop) {
			return p.schema
		}
	}
	if n.addl != nil {
		return n.addl
	}
	if n.permitsAddl && n.unevalProps != nil && n.unevalProps.kind != jsFalse && n.unevalProps.kind != jsTrue && n.unevalProps.kind != jsEmpty {
		return n.unevalProps
	}
	return nil
}

func (d *jsDiffer) compareObject(o, u *jsNode) []jsDiff {
	var out []jsDiff
	add := func(typ, path string) { out = append(out, jsDiff{typ, path}) }
	// required
	for _, k := range jsSortedKeys(o.props) {
		if _, ok := u.props[k]; !ok {
			continue
		}
		p := "required/" + k
		switch {
		case o.required[k] && !u.required[k]:
			add("REQUIRED_ATTRIBUTE_REMOVED", p)
		case !o.required[k] && u.required[k]:
			if u.props[k] != nil && u.props[k].def != nil {
				add("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", p)
			} else {
				add("REQUIRED_ATTRIBUTE_ADDED", p)
			}
		}
	}
	// properties
	keys := map[string]bool{}
	for k := range o.props {
		keys[k] = true
	}
	for k := range u.props {
		keys[k] = true
	}
	for _, k := range jsSortedKeys(keys) {
		p := "properties/" + k
		os, us := o.props[k], u.props[k]
		switch {
		case us == nil:
			if u.isOpen() {
				add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", p)
			} else if ps := u.partialSchema(k); ps != nil {
				r := d.compare(os, ps)
				out = append(out, jsUnder(p, r)...)
				if jsCompatible(r) {
					add("PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				} else {
					add("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				}
			} else if d.deref(os).kind == jsFalse {
				add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", p)
			} else {
				add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", p)
			}
		case os == nil:
			if o.isOpen() {
				switch {
				case d.deref(us).kind == jsEmpty || d.deref(us).kind == jsTrue:
					add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", p)
				case u.required[k] && us.def != nil:
					add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL", p)
				case u.required[k]:
					add("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", p)
				default:
					add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", p)
				}
			} else {
				if ps := o.partialSchema(k); ps != nil {
					r := d.compare(ps, us)
					out = append(out, jsUnder(p, r)...)
					if jsCompatible(r) {
						add("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
					} else {
						add("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
					}
				}
				switch {
				case u.required[k] && us.def != nil:
					add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL", p)
				case u.required[k]:
					add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", p)
				default:
					add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", p)
				}
			}
		default:
			out = append(out, jsUnder(p, d.compare(os, us))...)
		}
	}
	// dependencies
	deps := map[string]bool{}
	for k := range o.propDeps {
		deps[k] = true
	}
	for k := range u.propDeps {
		deps[k] = true
	}
	for _, k := range jsSortedKeys(deps) {
		p := "dependencies/" + k
		od, ok1 := o.propDeps[k]
		ud, ok2 := u.propDeps[k]
		switch {
		case !ok2:
			add("DEPENDENCY_ARRAY_REMOVED", p)
		case !ok1:
			add("DEPENDENCY_ARRAY_ADDED", p)
		case jsSetEq(od, ud):
		case jsSubset(od, ud):
			add("DEPENDENCY_ARRAY_EXTENDED", p)
		case jsSubset(ud, od):
			add("DEPENDENCY_ARRAY_NARROWED", p)
		default:
			add("DEPENDENCY_ARRAY_CHANGED", p)
		}
	}
	deps = map[string]bool{}
	for k := range o.schemaDeps {
		deps[k] = true
	}
	for k := range u.schemaDeps {
		deps[k] = true
	}
	for _, k := range jsSortedKeys(deps) {
		p := "dependencies/" + k
		os, us := o.schemaDeps[k], u.schemaDeps[k]
		switch {
		case us == nil:
			add("DEPENDENCY_SCHEMA_REMOVED", p)
		case os == nil:
			add("DEPENDENCY_SCHEMA_ADDED", p)
		default:
			out = append(out, jsUnder(p, d.compare(os, us))...)
		}
	}
	// additionalProperties
	switch {
	case o.permitsAddl != u.permitsAddl:
		if u.permitsAddl {
			add("ADDITIONAL_PROPERTIES_ADDED", "additionalProperties")
		} else {
			add("ADDITIONAL_PROPERTIES_REMOVED", "additionalProperties")
		}
	case o.addl == nil && u.addl != nil:
		add("ADDITIONAL_PROPERTIES_NARROWED", "additionalProperties")
	case o.addl != nil && u.addl == nil:
		add("ADDITIONAL_PROPERTIES_EXTENDED", "additionalProperties")
	default:
		out = append(out, jsUnder("additionalProperties", d.compare(o.addl, u.addl))...)
	}
	out = append(out, d.compareUneval("unevaluatedProperties", "UNEVALUATED_PROPERTIES", o.unevalProps, u.unevalProps)...)
	jsCmpLimit(add, "maxProperties", "MAX_PROPERTIES", o.maxProps, u.maxProps)
	jsCmpLimit(add, "minProperties", "MIN_PROPERTIES", o.minProps, u.minProps)
	return out
}

func (d *jsDiffer) compareUneval(kw, name string, o, u *jsNode) []jsDiff {
	if o == nil && u == nil {
		return nil
	}
	isFalse := func(n *jsNode) bool { return n != nil && n.kind == jsFalse }
	isEmpty := func(n *jsNode) bool { return n != nil && (n.kind == jsEmpty || n.kind == jsTrue) }
	one := func(t string) []jsDiff { return []jsDiff{{name + "_" + t, kw}} }
	switch {
	case o == nil && isFalse(u):
		return one("REMOVED")
	case o == nil:
		return one("NARROWED")
	case u == nil && isFalse(o):
		return one("ADDED")
	case u == nil:
		return one("EXTENDED")
	case isFalse(o) && !isFalse(u):
		return one("ADDED")
	case !isFalse(o) && isFalse(u):
		return one("REMOVED")
	case isEmpty(o) && !isEmpty(u):
		return one("NARROWED")
	case !isEmpty(o) && isEmpty(u):
		return one("EXTENDED")
	}
	return jsUnder(kw, d.compare(o, u))
}

func (n *jsNode) isOpenArray() bool {
	if !n.permitsAddlIt || n.addlItems != nil {
		return false
	}
	return n.unevalItems == nil || n.unevalItems.kind == jsTrue || n.unevalItems.kind == jsEmpty
}

func (n *jsNode) partialItems() *jsNode {
	if n.addlItems != nil {
		return n.addlItems
	}
	if n.permitsAddlIt && n.unevalItems != nil && n.unevalItems.kind != jsFalse && n.unevalItems.kind != jsTrue && n.unevalItems.kind != jsEmpty {
		return n.unevalItems
	}
	return nil
}

func (d *jsDiffer) compareArray(o, u *jsNode) []jsDiff {
	var out []jsDiff
	add := func(typ, path string) { out = append(out, jsDiff{typ, path}) }
	out = append(out, jsUnder("items", d.compare(o.allItems, u.allItems))...)
	for i := 0; i < max(len(o.itemList), len(u.itemList)); i++ {
		p := "items/" + strconv.Itoa(i)
		switch {
		case i < len(o.itemList) && i < len(u.itemList):
			out = append(out, jsUnder(p, d.compare(o.itemList[i], u.itemList[i]))...)
		case i < len(o.itemList): // removed by the reader
			os := o.itemList[i]
			if u.isOpenArray() {
				add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", p)
			} else if ps := u.partialItems(); ps != nil {
				r := d.compare(os, ps)
				out = append(out, jsUnder(p, r)...)
				if jsCompatible(r) {
					add("ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				} else {
					add("ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				}
			} else if d.deref(os).kind == jsFalse {
				add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", p)
			} else {
				add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", p)
			}
		default: // added by the reader
			us := u.itemList[i]
			if o.isOpenArray() {
				if k := d.deref(us).kind; k == jsEmpty || k == jsTrue {
					add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", p)
				} else {
					add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", p)
				}
			} else if ps := o.partialItems(); ps != nil {
				r := d.compare(ps, us)
				out = append(out, jsUnder(p, r)...)
				if jsCompatible(r) {
					add("ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				} else {
					add("ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", p)
				}
			} else {
				add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", p)
			}
		}
	}
	switch {
	case o.permitsAddlIt != u.permitsAddlIt:
		if o.permitsAddlIt {
			add("ADDITIONAL_ITEMS_REMOVED", "additionalItems")
		} else {
			add("ADDITIONAL_ITEMS_ADDED", "additionalItems")
		}
	case o.addlItems == nil && u.addlItems != nil:
		add("ADDITIONAL_ITEMS_NARROWED", "additionalItems")
	case o.addlItems != nil && u.addlItems == nil:
		add("ADDITIONAL_ITEMS_EXTENDED", "additionalItems")
	default:
		out = append(out, jsUnder("additionalItems", d.compare(o.addlItems, u.addlItems))...)
	}
	out = append(out, d.compareUneval("unevaluatedItems", "UNEVALUATED_ITEMS", o.unevalItems, u.unevalItems)...)
	jsCmpLimit(add, "maxItems", "MAX_ITEMS", o.maxItems, u.maxItems)
	jsCmpLimit(add, "minItems", "MIN_ITEMS", o.minItems, u.minItems)
	if o.unique != u.unique {
		if o.unique {
			add("UNIQUE_ITEMS_REMOVED", "uniqueItems")
		} else {
			add("UNIQUE_ITEMS_ADDED", "uniqueItems")
		}
	}
	jsCmpLimit(add, "maxContains", "MAX_CONTAINS", o.maxContains, u.maxContains)
	jsCmpLimit(add, "minContains", "MIN_CONTAINS", o.minContains, u.minContains)
	return out
}
