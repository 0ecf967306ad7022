package compat

// PROTOBUF schemas.
//
// A schema's text is a .proto file (proto2, proto3 or editions), or, as the
// Confluent serializers also accept, a base64-encoded serialized
// google.protobuf.FileDescriptorProto. References are other files, named by
// the import path the main file uses; the google/protobuf/*.proto
// well-known files resolve without a reference. Files are compiled with
// github.com/bufbuild/protocompile.
//
// The canonical text is the compiled file descriptor printed back as a
// .proto file by github.com/jhump/protoreflect/v2/protoprint, without
// source info (so no comments), in declaration order, two-space indent:
// layout, comments, type-name qualification and option order do not change
// it; anything that changes the descriptor does.
//
// Compatibility follows the Confluent Schema Registry's protobuf diff
// (io.confluent.kafka.schemaregistry.protobuf.diff): the writer is the
// "original" and the reader the "update"; messages and enums are matched
// by name within their scope (relative to the package), fields and enum
// constants by number, and only the difference types Confluent does not
// list as compatible are reported.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/jhump/protoreflect/v2/protoprint"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func init() { register("PROTOBUF", protobufFormat{}) }

type protobufFormat struct{}

// pbMainName is the file name the main schema is compiled under (a
// reference of the same name makes it pick another).
const pbMainName = "schema-registry-subject.proto"

func (protobufFormat) Parse(s Schema) (string, error) {
	fd, err := pbCompile(s)
	if err != nil {
		return "", err
	}
	return pbCanonical(fd)
}

func (protobufFormat) CanRead(reader, writer Schema) []string {
	w, err := pbCompile(writer)
	if err != nil {
		return []string{"writer schema: " + err.Error()}
	}
	r, err := pbCompile(reader)
	if err != nil {
		return []string{"reader schema: " + err.Error()}
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range pbDiff(w, r) {
		if pbCompatible[d.typ] {
			continue
		}
		m := d.message()
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// pbCompile compiles s's text with its references and returns the main
// file's descriptor.
func pbCompile(s Schema) (fd protoreflect.FileDescriptor, err error) {
	if strings.TrimSpace(s.Text) == "" {
		return nil, errors.New("empty schema")
	}
	refs := make(map[string]string, len(s.Refs))
	for _, r := range s.Refs {
		refs[r.Name] = r.Text // a later duplicate wins, as in Confluent
	}
	main := pbMainName
	for i := 2; ; i++ {
		if _, ok := refs[main]; !ok {
			break
		}
		main = strconv.Itoa(i) + "-" + pbMainName
	}
	var fromDescriptor bool
	source := func(name, text string) protocompile.SearchResult {
		if fdp := pbDecodeDescriptor(text); fdp != nil {
			fdp.Name = proto.String(name)
			if name == main {
				fromDescriptor = true
			}
			return protocompile.SearchResult{Proto: fdp}
		}
		return protocompile.SearchResult{Source: strings.NewReader(text)}
	}
	resolver := protocompile.WithStandardImports(protocompile.ResolverFunc(
		func(name string) (protocompile.SearchResult, error) {
			if name == main {
				return source(name, s.Text), nil
			}
			if text, ok := refs[name]; ok {
				return source(name, text), nil
			}
			return protocompile.SearchResult{}, fmt.Errorf("import %q: no such reference: %w", name, protoregistry.NotFound)
		}))
	c := protocompile.Compiler{Resolver: resolver, MaxParallelism: 1}
	defer func() {
		if p := recover(); p != nil {
			fd, err = nil, fmt.Errorf("invalid protobuf schema: %v", p)
		}
	}()
	files, err := c.Compile(context.Background(), main)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), main+":", "schema:"))
	}
	fd = files[0]
	if fromDescriptor {
		// A descriptor skipped the parser's checks: let protobuf-go's
		// stricter builder vet it too.
		if err := pbRevalidate(fd); err != nil {
			return nil, err
		}
	}
	return fd, nil
}

// pbDecodeDescriptor returns text as a FileDescriptorProto when it is the
// base64 (standard alphabet, padded) of one; nil otherwise. A .proto file
// always holds characters outside that alphabet (space, ';', '{', '"').
func pbDecodeDescriptor(text string) *descriptorpb.FileDescriptorProto {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(b) == 0 {
		return nil
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		return nil
	}
	fdp.SourceCodeInfo = nil
	return fdp
}

func pbRevalidate(fd protoreflect.FileDescriptor) error {
	var reg protoregistry.Files
	var add func(f protoreflect.FileDescriptor) error
	add = func(f protoreflect.FileDescriptor) error {
		imps := f.Imports()
		for i := 0; i < imps.Len(); i++ {
			imp := imps.Get(i).FileDescriptor
			if _, err := reg.FindFileByPath(imp.Path()); err == nil {
				continue
			}
			if err := add(imp); err != nil {
				return err
			}
			if err := reg.RegisterFile(imp); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(fd); err != nil {
		return fmt.Errorf("invalid protobuf descriptor: %v", err)
	}
	if _, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(fd), &reg); err != nil {
		return fmt.Errorf("invalid protobuf descriptor: %v", err)
	}
	return nil
}

var pbPrinter = protoprint.Printer{OmitComments: protoprint.CommentsAll}

func pbCanonical(fd protoreflect.FileDescriptor) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("invalid protobuf schema: cannot print it: %v", p)
		}
	}()
	var b bytes.Buffer
	if err := pbPrinter.PrintProtoFile(fd, &b); err != nil {
		return "", fmt.Errorf("invalid protobuf schema: cannot print it: %v", err)
	}
	return b.String(), nil
}

// Difference types, named as Confluent's Difference.Type.
const (
	pbPackageChanged              = "PACKAGE_CHANGED"
	pbMessageAdded                = "MESSAGE_ADDED"
	pbMessageRemoved              = "MESSAGE_REMOVED"
	pbMessageMoved                = "MESSAGE_MOVED"
	pbEnumAdded                   = "ENUM_ADDED"
	pbEnumRemoved                 = "ENUM_REMOVED"
	pbEnumConstAdded              = "ENUM_CONST_ADDED"
	pbEnumConstChanged            = "ENUM_CONST_CHANGED"
	pbEnumConstRemoved            = "ENUM_CONST_REMOVED"
	pbFieldAdded                  = "FIELD_ADDED"
	pbFieldRemoved                = "FIELD_REMOVED"
	pbFieldNameChanged            = "FIELD_NAME_CHANGED"
	pbFieldKindChanged            = "FIELD_KIND_CHANGED"
	pbFieldScalarKindChanged      = "FIELD_SCALAR_KIND_CHANGED"
	pbFieldNamedTypeChanged       = "FIELD_NAMED_TYPE_CHANGED"
	pbFieldNumericLabelChanged    = "FIELD_NUMERIC_LABEL_CHANGED"
	pbFieldStringOrBytesLabelChgd = "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
	pbRequiredFieldAdded          = "REQUIRED_FIELD_ADDED"
	pbRequiredFieldRemoved        = "REQUIRED_FIELD_REMOVED"
	pbOneofAdded                  = "ONEOF_ADDED"
	pbOneofRemoved                = "ONEOF_REMOVED"
	pbOneofFieldAdded             = "ONEOF_FIELD_ADDED"
	pbOneofFieldRemoved           = "ONEOF_FIELD_REMOVED"
	pbOneofFieldMovedToTopLevel   = "ONEOF_FIELD_MOVED_TO_TOP_LEVEL"
	pbMultipleFieldsMovedToOneof  = "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
	pbFieldMovedToExistingOneof   = "FIELD_MOVED_TO_EXISTING_ONEOF"
)

// pbCompatible is Confluent's SchemaDiff.COMPATIBLE_CHANGES.
var pbCompatible = map[string]bool{
	pbMessageAdded:                true,
	pbMessageMoved:                true,
	pbEnumAdded:                   true,
	pbEnumRemoved:                 true,
	pbEnumConstAdded:              true,
	pbEnumConstChanged:            true,
	pbEnumConstRemoved:            true,
	pbFieldAdded:                  true,
	pbFieldRemoved:                true,
	pbFieldNameChanged:            true,
	pbFieldStringOrBytesLabelChgd: true,
	pbOneofAdded:                  true,
	pbOneofRemoved:                true,
	pbOneofFieldAdded:             true,
	pbOneofFieldMovedToTopLevel:   true,
}

// pbDescriptions word the incompatible differences as Confluent does, the
// first %s being the reader schema and the second the writer; %p is the
// path.
var pbDescriptions = map[string]string{
	pbPackageChanged:             "The package at '%p' in the %s schema does not match the package in the %s schema",
	pbMessageRemoved:             "The %s schema is missing a MESSAGE type at path '%p' in the %s schema",
	pbFieldKindChanged:           "The type of a field at path '%p' in the %s schema does not match the %s schema",
	pbFieldScalarKindChanged:     "The kind of a SCALAR field at path '%p' in the %s schema does not match its kind in the %s schema",
	pbFieldNamedTypeChanged:      "The type of a MESSAGE field at path '%p' in the %s schema does not match its type in the %s schema",
	pbFieldNumericLabelChanged:   "The label for a NUMERIC field at path '%p' in the %s schema does not match its label in the %s schema",
	pbRequiredFieldAdded:         "A required field at path '%p' in the %s schema is missing in the %s schema",
	pbRequiredFieldRemoved:       "The %s schema is missing a required field at path: '%p' in the %s schema",
	pbOneofFieldRemoved:          "The %s schema is missing a oneof field at path '%p' in the %s schema",
	pbMultipleFieldsMovedToOneof: "Multiple fields in the oneof at path '%p' in the %s schema are outside a oneof in the %s schema",
	pbFieldMovedToExistingOneof:  "A field in the oneof at path '%p' in the %s schema is outside an existing oneof in the %s schema",
}

type pbDifference struct {
	typ  string
	path string // "#/" then names, numbers and oneof names joined by "/"
}

func (d pbDifference) String() string { return d.typ + " " + d.path }

// message is the difference as Confluent's checker words it.
func (d pbDifference) message() string {
	desc := strings.ReplaceAll(pbDescriptions[d.typ], "'%p'", "'"+d.path+"'")
	desc = strings.Replace(desc, "%s", "reader", 1)
	desc = strings.Replace(desc, "%s", "writer", 1)
	return fmt.Sprintf("{errorType:%q, description:%q}", d.typ, desc)
}

// pbCtx is the state of one diff: the path being compared, the writer's
// ("original") messages whose fields are being compared (against
// recursion), and the results of comparing message types across files.
type pbCtx struct {
	origMain, updMain protoreflect.FileDescriptor
	path              []string
	diffs             []pbDifference
	active            map[protoreflect.FullName]bool
	memo              map[[2]protoreflect.FullName][]pbDifference
}

func (c *pbCtx) add(typ string, extra ...string) {
	p := "#/" + strings.Join(append(append([]string(nil), c.path...), extra...), "/")
	c.diffs = append(c.diffs, pbDifference{typ, p})
}

func (c *pbCtx) push(s string) { c.path = append(c.path, s) }
func (c *pbCtx) pop()          { c.path = c.path[:len(c.path)-1] }

// pbDiff lists the differences from the writer's main file (Confluent's
// "original") to the reader's (the "update").
func pbDiff(writer, reader protoreflect.FileDescriptor) []pbDifference {
	c := &pbCtx{
		origMain: writer,
		updMain:  reader,
		active:   map[protoreflect.FullName]bool{},
		memo:     map[[2]protoreflect.FullName][]pbDifference{},
	}
	if writer.Package() != reader.Package() {
		c.add(pbPackageChanged)
	}
	c.compareTypes(writer.Messages(), reader.Messages(), writer.Enums(), reader.Enums())
	return c.diffs
}

// pbMessages lists a scope's messages without map entries (which a .proto
// file does not declare), in declaration order.
func pbMessages(ms protoreflect.MessageDescriptors) []protoreflect.MessageDescriptor {
	out := make([]protoreflect.MessageDescriptor, 0, ms.Len())
	for i := 0; i < ms.Len(); i++ {
		if m := ms.Get(i); !m.IsMapEntry() {
			out = append(out, m)
		}
	}
	return out
}

// pbUnion lists the names of a, then those only in b, each once.
func pbUnion(a, b []protoreflect.Name) []protoreflect.Name {
	seen := map[protoreflect.Name]bool{}
	var out []protoreflect.Name
	for _, l := range [][]protoreflect.Name{a, b} {
		for _, n := range l {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

func (c *pbCtx) compareTypes(origMs, updMs protoreflect.MessageDescriptors, origEs, updEs protoreflect.EnumDescriptors) {
	type indexed struct {
		md    protoreflect.MessageDescriptor
		index int
	}
	index := func(ms protoreflect.MessageDescriptors) (map[protoreflect.Name]indexed, []protoreflect.Name) {
		m := map[protoreflect.Name]indexed{}
		var names []protoreflect.Name
		for i, md := range pbMessages(ms) {
			m[md.Name()] = indexed{md, i}
			names = append(names, md.Name())
		}
		return m, names
	}
	om, on := index(origMs)
	um, un := index(updMs)
	for _, name := range pbUnion(on, un) {
		c.push(string(name))
		o, inO := om[name]
		u, inU := um[name]
		switch {
		case !inU:
			c.add(pbMessageRemoved)
		case !inO:
			c.add(pbMessageAdded)
		default:
			c.compareMessage(o.md, u.md)
			if o.index != u.index {
				c.add(pbMessageMoved)
			}
		}
		c.pop()
	}

	enums := func(es protoreflect.EnumDescriptors) (map[protoreflect.Name]protoreflect.EnumDescriptor, []protoreflect.Name) {
		m := map[protoreflect.Name]protoreflect.EnumDescriptor{}
		var names []protoreflect.Name
		for i := 0; i < es.Len(); i++ {
			e := es.Get(i)
			m[e.Name()] = e
			names = append(names, e.Name())
		}
		return m, names
	}
	oe, oen := enums(origEs)
	ue, uen := enums(updEs)
	for _, name := range pbUnion(oen, uen) {
		c.push(string(name))
		o, u := oe[name], ue[name]
		switch {
		case u == nil:
			c.add(pbEnumRemoved)
		case o == nil:
			c.add(pbEnumAdded)
		default:
			c.compareEnum(o, u)
		}
		c.pop()
	}
}

func (c *pbCtx) compareEnum(o, u protoreflect.EnumDescriptor) {
	byNumber := func(e protoreflect.EnumDescriptor) map[protoreflect.EnumNumber]protoreflect.Name {
		m := map[protoreflect.EnumNumber]protoreflect.Name{}
		vs := e.Values()
		for i := 0; i < vs.Len(); i++ {
			m[vs.Get(i).Number()] = vs.Get(i).Name() // an alias declared later wins, as in Confluent
		}
		return m
	}
	om, um := byNumber(o), byNumber(u)
	var nums []protoreflect.EnumNumber
	for n := range om {
		nums = append(nums, n)
	}
	for n := range um {
		if _, ok := om[n]; !ok {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		on, inO := om[n]
		un, inU := um[n]
		tag := strconv.Itoa(int(n))
		switch {
		case !inU:
			c.add(pbEnumConstRemoved, tag)
		case !inO:
			c.add(pbEnumConstAdded, tag)
		case on != un:
			c.add(pbEnumConstChanged, tag)
		}
	}
}

// pbFields indexes a message's fields (oneof members included) by number,
// the real oneof each is in, and the real oneofs by name in declaration
// order. Proto3 "optional" fields' synthetic oneofs are not oneofs here, as
// they are not in the .proto text Confluent compares.
type pbFields struct {
	byNum     map[protoreflect.FieldNumber]protoreflect.FieldDescriptor
	oneofOf   map[protoreflect.FieldNumber]string
	oneofs    map[string]protoreflect.OneofDescriptor
	oneofList []protoreflect.OneofDescriptor
}

func pbCollectFields(md protoreflect.MessageDescriptor) pbFields {
	f := pbFields{
		byNum:   map[protoreflect.FieldNumber]protoreflect.FieldDescriptor{},
		oneofOf: map[protoreflect.FieldNumber]string{},
		oneofs:  map[string]protoreflect.OneofDescriptor{},
	}
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		f.byNum[fd.Number()] = fd
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			f.oneofOf[fd.Number()] = string(od.Name())
		}
	}
	os := md.Oneofs()
	for i := 0; i < os.Len(); i++ {
		if od := os.Get(i); !od.IsSynthetic() {
			f.oneofs[string(od.Name())] = od
			f.oneofList = append(f.oneofList, od)
		}
	}
	return f
}

func (c *pbCtx) compareMessage(o, u protoreflect.MessageDescriptor) {
	if !c.active[o.FullName()] {
		c.active[o.FullName()] = true
		c.compareFields(o, u)
		delete(c.active, o.FullName())
	}
	c.compareTypes(o.Messages(), u.Messages(), o.Enums(), u.Enums())
}

func (c *pbCtx) compareFields(o, u protoreflect.MessageDescriptor) {
	of, uf := pbCollectFields(o), pbCollectFields(u)

	// A oneof gone by name none of whose members is left anywhere was
	// deleted whole, which Confluent lets pass.
	deleted := map[string]bool{}
	for name, od := range of.oneofs {
		if _, ok := uf.oneofs[name]; ok {
			continue
		}
		survives := false
		fs := od.Fields()
		for i := 0; i < fs.Len(); i++ {
			if _, ok := uf.byNum[fs.Get(i).Number()]; ok {
				survives = true
			}
		}
		if !survives {
			deleted[name] = true
		}
	}

	// New mutual exclusion: a reader oneof holding writer fields that were
	// not already in one same oneof.
	for _, od := range uf.oneofList {
		groups := map[string]bool{}
		movedIn := 0
		fs := od.Fields()
		for i := 0; i < fs.Len(); i++ {
			n := fs.Get(i).Number()
			if name, ok := of.oneofOf[n]; ok {
				groups["oneof:"+name] = true
			} else if _, ok := of.byNum[n]; ok {
				groups["field:"+strconv.Itoa(int(n))] = true
				movedIn++
			}
		}
		if len(groups) > 1 {
			if movedIn > 1 {
				c.add(pbMultipleFieldsMovedToOneof, string(od.Name()))
			} else {
				c.add(pbFieldMovedToExistingOneof, string(od.Name()))
			}
		}
	}

	var names []string
	for name := range of.oneofs {
		names = append(names, name)
	}
	for name := range uf.oneofs {
		if _, ok := of.oneofs[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := uf.oneofs[name]; !ok {
			c.add(pbOneofRemoved, name)
		} else if _, ok := of.oneofs[name]; !ok {
			c.add(pbOneofAdded, name)
		}
	}

	var nums []protoreflect.FieldNumber
	for n := range of.byNum {
		nums = append(nums, n)
	}
	for n := range uf.byNum {
		if _, ok := of.byNum[n]; !ok {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		tag := strconv.Itoa(int(n))
		ofd, uFd := of.byNum[n], uf.byNum[n]
		oOneof, oIn := of.oneofOf[n]
		uOneof, uIn := uf.oneofOf[n]
		switch {
		case uFd == nil:
			if oIn {
				if !deleted[oOneof] {
					c.add(pbOneofFieldRemoved, oOneof, tag)
				}
			} else if ofd.Cardinality() == protoreflect.Required {
				c.add(pbRequiredFieldRemoved, tag)
			} else {
				c.add(pbFieldRemoved, tag)
			}
		case ofd == nil:
			if uIn {
				c.add(pbOneofFieldAdded, uOneof, tag)
			} else if uFd.Cardinality() == protoreflect.Required {
				c.add(pbRequiredFieldAdded, tag)
			} else {
				c.add(pbFieldAdded, tag)
			}
		default:
			if oIn && !uIn {
				c.add(pbOneofFieldMovedToTopLevel, tag)
			}
			if uIn {
				c.push(uOneof)
			}
			c.push(tag)
			c.compareField(ofd, uFd)
			c.pop()
			if uIn {
				c.pop()
			}
		}
	}
}

// pbLabel is the label a field was written with, "" for none (a proto3
// field without "optional", a oneof member, a map; editions files carry
// no "optional").
func pbLabel(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return ""
	case fd.Cardinality() == protoreflect.Repeated:
		return "repeated"
	case fd.Cardinality() == protoreflect.Required:
		return "required"
	}
	if od := fd.ContainingOneof(); od != nil {
		if od.IsSynthetic() {
			return "optional"
		}
		return ""
	}
	if fd.ParentFile().Syntax() == protoreflect.Proto2 {
		return "optional"
	}
	return ""
}

func (c *pbCtx) compareField(o, u protoreflect.FieldDescriptor) {
	if o.Name() != u.Name() {
		c.add(pbFieldNameChanged)
	}
	c.compareTypesOf(o, u, pbLabel(o), pbLabel(u))
}

const (
	pbKindScalar = iota
	pbKindMap
	pbKindMessage
)

func pbKindOf(fd protoreflect.FieldDescriptor) int {
	switch {
	case fd.IsMap():
		return pbKindMap
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return pbKindMessage
	}
	return pbKindScalar // enums included
}

// pbScalarKind groups the scalar types whose values read as each other
// (https://protobuf.dev/programming-guides/proto3/#updating); enums read
// as int32.
func pbScalarKind(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind,
		protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "number"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "signed"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "string"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	}
	return fd.Kind().String() // float, double
}

// compareTypesOf compares two fields' types (and, for scalars, their
// labels; labels "" are not compared).
func (c *pbCtx) compareTypesOf(o, u protoreflect.FieldDescriptor, oLabel, uLabel string) {
	ok, uk := pbKindOf(o), pbKindOf(u)
	if ok != uk {
		c.add(pbFieldKindChanged)
		return
	}
	switch ok {
	case pbKindScalar:
		os, us := pbScalarKind(o), pbScalarKind(u)
		if os != us {
			c.add(pbFieldScalarKindChanged)
		} else if oLabel != "" && uLabel != "" && oLabel != uLabel {
			if os == "string" {
				c.add(pbFieldStringOrBytesLabelChgd)
			} else {
				c.add(pbFieldNumericLabelChanged)
			}
		}
	case pbKindMap:
		c.compareTypesOf(o.MapKey(), u.MapKey(), "", "")
		c.compareTypesOf(o.MapValue(), u.MapValue(), "", "")
	case pbKindMessage:
		c.compareMessageTypes(o.Message(), u.Message())
	}
}

// pbLocalName is a type's full name without its file's package.
func pbLocalName(md protoreflect.MessageDescriptor) string {
	name := string(md.FullName())
	if pkg := string(md.ParentFile().Package()); pkg != "" {
		name = strings.TrimPrefix(name, pkg+".")
	}
	return name
}

// compareMessageTypes compares the message types of a field: different
// names (relative to their packages) differ; same-named types both in the
// main files are compared as the main files' messages anyway; otherwise
// (one or both imported) the two are compared on their own and any
// incompatible difference between them makes the field's type differ too.
func (c *pbCtx) compareMessageTypes(o, u protoreflect.MessageDescriptor) {
	ol, ul := pbLocalName(o), pbLocalName(u)
	if ol != ul {
		c.add(pbFieldNamedTypeChanged)
		return
	}
	if o.ParentFile().Path() == c.origMain.Path() && u.ParentFile().Path() == c.updMain.Path() {
		return
	}
	key := [2]protoreflect.FullName{o.FullName(), u.FullName()}
	sub, done := c.memo[key]
	if !done {
		if c.active[o.FullName()] {
			return // already being compared further up
		}
		sc := &pbCtx{
			origMain: c.origMain,
			updMain:  c.updMain,
			path:     strings.Split(ol, "."),
			active:   c.active,
			memo:     c.memo,
		}
		sc.compareMessage(o, u)
		sub = sc.diffs
		c.memo[key] = sub
	}
	c.diffs = append(c.diffs, sub...)
	for _, d := range sub {
		if !pbCompatible[d.typ] {
			c.add(pbFieldNamedTypeChanged)
			break
		}
	}
}
