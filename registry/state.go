package registry

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/registry/compat"
)

// The registry's state: what every gateway builds by applying the same
// log in the same order (log.go), so ids and versions agree everywhere.

// Compatibility levels, as the Confluent registry names them.
var levels = []string{"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}

const defaultLevel = "BACKWARD"

// Reference names another subject's version a schema uses.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// schema is one registered schema: an id for a type, a canonical text and
// its references (the same three under any subject share the id).
type schema struct {
	ID   int
	Type string // AVRO, JSON or PROTOBUF
	Text string // canonical (compat.Format.Parse)
	Refs []Reference
}

func (s *schema) key() string {
	var b strings.Builder
	b.WriteString(s.Type)
	for _, r := range s.Refs {
		fmt.Fprintf(&b, "\x00%s\x00%s\x00%d", r.Name, r.Subject, r.Version)
	}
	b.WriteString("\x01")
	b.WriteString(s.Text)
	return b.String()
}

// version is one version of a subject.
type version struct {
	Version int
	ID      int
	Deleted bool // soft-deleted: kept, but hidden unless asked for
}

type subject struct {
	Versions []version // in version order
	Level    string    // "" uses the global level
}

// live is the subject's versions not soft-deleted.
func (s *subject) live() []version {
	var out []version
	for _, v := range s.Versions {
		if !v.Deleted {
			out = append(out, v)
		}
	}
	return out
}

type state struct {
	lastID   int
	schemas  map[int]*schema
	ids      map[string]int // schema.key() -> id; kept after deletes, so an id is never given to another schema
	subjects map[string]*subject
	level    string
}

func newState() *state {
	return &state{schemas: map[int]*schema{}, ids: map[string]int{}, subjects: map[string]*subject{}, level: defaultLevel}
}

// command is one log entry.
type command struct {
	Op      string  // register, delete-subject, delete-version, set-level, delete-level
	Token   string  // the author's, to hand the result back
	Subject string  `json:",omitempty"`
	Schema  *schema `json:",omitempty"` // register: ID unset
	Version int     `json:",omitempty"` // delete-version; -1 latest
	Perm    bool    `json:",omitempty"`
	Level   string  `json:",omitempty"`
}

// result is a command's outcome: an error, or what it answers.
type result struct {
	err      *apiError
	id       int
	version  int
	versions []int
	level    string
}

func (s *state) apply(c *command) result {
	switch c.Op {
	case "register":
		if c.Schema == nil {
			return result{err: errInvalidSchema(fmt.Errorf("no schema"))}
		}
		return s.register(c.Subject, c.Schema)
	case "delete-subject":
		return s.deleteSubject(c.Subject, c.Perm)
	case "delete-version":
		return s.deleteVersion(c.Subject, c.Version, c.Perm)
	case "set-level":
		if c.Subject == "" {
			s.level = c.Level
		} else {
			s.subjectOrNew(c.Subject).Level = c.Level
		}
		return result{level: c.Level}
	case "delete-level":
		if c.Subject == "" {
			prev := s.level
			s.level = defaultLevel
			return result{level: prev}
		}
		sub := s.subjects[c.Subject]
		if sub == nil || sub.Level == "" {
			return result{err: errSubjectLevelNotFound(c.Subject)}
		}
		prev := sub.Level
		sub.Level = ""
		s.dropIfEmpty(c.Subject)
		return result{level: prev}
	}
	return result{} // an op of a newer gateway: nothing to do
}

func (s *state) subjectOrNew(name string) *subject {
	sub := s.subjects[name]
	if sub == nil {
		sub = &subject{}
		s.subjects[name] = sub
	}
	return sub
}

func (s *state) dropIfEmpty(name string) {
	if sub := s.subjects[name]; sub != nil && len(sub.Versions) == 0 && sub.Level == "" {
		delete(s.subjects, name)
	}
}

// levelOf is the compatibility level a subject's registrations follow.
func (s *state) levelOf(name string) string {
	if sub := s.subjects[name]; sub != nil && sub.Level != "" {
		return sub.Level
	}
	return s.level
}

func (s *state) register(name string, in *schema) result {
	sub := s.subjectOrNew(name)
	key := in.key()
	if id, ok := s.ids[key]; ok {
		for _, v := range sub.live() {
			if v.ID == id {
				return result{id: id, version: v.Version} // registered already: the same answer
			}
		}
	}
	if msgs := s.check(name, in, s.againstForLevel(sub, s.levelOf(name))); len(msgs) > 0 {
		s.dropIfEmpty(name)
		return result{err: errIncompatible(msgs)}
	}
	id, ok := s.ids[key]
	if !ok {
		s.lastID++
		id = s.lastID
		s.ids[key] = id
		c := *in
		c.ID = id
		s.schemas[id] = &c
	}
	next := 1
	if n := len(sub.Versions); n > 0 {
		next = sub.Versions[n-1].Version + 1
	}
	sub.Versions = append(sub.Versions, version{Version: next, ID: id})
	return result{id: id, version: next}
}

// againstForLevel is what a new version is checked against: the latest
// live version, or all of them for the _TRANSITIVE levels.
func (s *state) againstForLevel(sub *subject, level string) []version {
	live := sub.live()
	if level == "NONE" || len(live) == 0 {
		return nil
	}
	if strings.HasSuffix(level, "_TRANSITIVE") {
		return live
	}
	return live[len(live)-1:]
}

// check lists why in cannot be registered after the versions against,
// under the subject's level.
func (s *state) check(name string, in *schema, against []version) []string {
	return s.checkLevel(s.levelOf(name), in, against)
}

func (s *state) checkLevel(level string, in *schema, against []version) []string {
	if level == "NONE" {
		return nil
	}
	f, ok := compat.Lookup(in.Type)
	if !ok {
		return []string{"unknown schema type " + in.Type}
	}
	newer, err := s.resolve(in)
	if err != nil {
		return []string{err.Error()}
	}
	var msgs []string
	for _, v := range against {
		old := s.schemas[v.ID]
		if old.Type != in.Type {
			msgs = append(msgs, fmt.Sprintf("version %d is of type %s, the new schema of type %s", v.Version, old.Type, in.Type))
			continue
		}
		older, err := s.resolve(old)
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		if strings.HasPrefix(level, "BACKWARD") || strings.HasPrefix(level, "FULL") {
			for _, m := range f.CanRead(newer, older) {
				msgs = append(msgs, fmt.Sprintf("version %d, backward: %s", v.Version, m))
			}
		}
		if strings.HasPrefix(level, "FORWARD") || strings.HasPrefix(level, "FULL") {
			for _, m := range f.CanRead(older, newer) {
				msgs = append(msgs, fmt.Sprintf("version %d, forward: %s", v.Version, m))
			}
		}
	}
	return msgs
}

// resolve is a schema with its references' texts, depth first, each once.
func (s *state) resolve(in *schema) (compat.Schema, error) {
	out := compat.Schema{Text: in.Text}
	seen := map[string]bool{}
	var walk func(refs []Reference, depth int) error
	walk = func(refs []Reference, depth int) error {
		if depth > 32 {
			return fmt.Errorf("references nest deeper than 32")
		}
		for _, r := range refs {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			sc := s.schemaAt(r.Subject, r.Version)
			if sc == nil {
				return fmt.Errorf("reference %q: subject %q has no version %d", r.Name, r.Subject, r.Version)
			}
			if err := walk(sc.Refs, depth+1); err != nil {
				return err
			}
			out.Refs = append(out.Refs, compat.Ref{Name: r.Name, Text: sc.Text})
		}
		return nil
	}
	return out, walk(in.Refs, 0)
}

// schemaAt is a subject's version's schema (soft-deleted included).
func (s *state) schemaAt(name string, v int) *schema {
	sub := s.subjects[name]
	if sub == nil {
		return nil
	}
	for _, x := range sub.Versions {
		if x.Version == v {
			return s.schemas[x.ID]
		}
	}
	return nil
}

// referencedBy lists the ids of schemas that use a subject's version.
func (s *state) referencedBy(name string, v int) []int {
	var out []int
	for id, sc := range s.schemas {
		if !s.inUse(id) {
			continue
		}
		if slices.ContainsFunc(sc.Refs, func(r Reference) bool { return r.Subject == name && r.Version == v }) {
			out = append(out, id)
		}
	}
	sort.Ints(out)
	return out
}

// inUse: some version, soft-deleted or not, still holds the id.
func (s *state) inUse(id int) bool {
	for _, sub := range s.subjects {
		for _, v := range sub.Versions {
			if v.ID == id {
				return true
			}
		}
	}
	return false
}

func (s *state) deleteSubject(name string, perm bool) result {
	sub := s.subjects[name]
	if sub == nil || len(sub.Versions) == 0 {
		return result{err: errSubjectNotFound(name)}
	}
	var out []int
	for _, v := range sub.Versions {
		if len(s.referencedBy(name, v.Version)) > 0 {
			return result{err: errReferenced(name, v.Version)}
		}
	}
	if !perm {
		if len(sub.live()) == 0 {
			return result{err: errSubjectSoftDeleted(name)}
		}
		for i := range sub.Versions {
			if !sub.Versions[i].Deleted {
				sub.Versions[i].Deleted = true
				out = append(out, sub.Versions[i].Version)
			}
		}
		return result{versions: out}
	}
	if len(sub.live()) > 0 {
		return result{err: errSubjectNotSoftDeleted(name)}
	}
	for _, v := range sub.Versions {
		out = append(out, v.Version)
	}
	sub.Versions = nil
	sub.Level = ""
	s.dropIfEmpty(name)
	return result{versions: out}
}

func (s *state) deleteVersion(name string, v int, perm bool) result {
	sub := s.subjects[name]
	if sub == nil || len(sub.Versions) == 0 {
		return result{err: errSubjectNotFound(name)}
	}
	i := -1
	if v == -1 {
		live := sub.live()
		if len(live) == 0 {
			return result{err: errVersionNotFound(v)}
		}
		v = live[len(live)-1].Version
	}
	for j, x := range sub.Versions {
		if x.Version == v {
			i = j
		}
	}
	if i < 0 {
		return result{err: errVersionNotFound(v)}
	}
	if len(s.referencedBy(name, v)) > 0 {
		return result{err: errReferenced(name, v)}
	}
	switch {
	case !perm && sub.Versions[i].Deleted:
		return result{err: errVersionSoftDeleted(name, v)}
	case !perm:
		sub.Versions[i].Deleted = true
	case !sub.Versions[i].Deleted:
		return result{err: errVersionNotSoftDeleted(name, v)}
	default:
		sub.Versions = slices.Delete(sub.Versions, i, i+1)
		s.dropIfEmpty(name)
	}
	return result{version: v}
}
