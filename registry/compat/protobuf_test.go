package compat

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
)

func pbMustCompile(t *testing.T, text string, refs []Ref) Schema {
	t.Helper()
	s := Schema{Text: text, Refs: refs}
	if _, err := pbCompile(s); err != nil {
		t.Fatalf("compile: %v\n%s", err, text)
	}
	return s
}

// pbDiffCase is one writer ("original") -> reader ("update") change.
type pbDiffCase struct {
	name           string
	writer, reader string
	writerRefs     []Ref
	readerRefs     []Ref
	changes        []string // all differences, "TYPE #/path"
	compatible     bool
}

// pbConfluentCases are the Confluent Schema Registry's own protobuf diff
// cases: confluentinc/schema-registry,
// protobuf-provider/src/test/resources/diff-schema-examples.json (commit
// 794611bd86d1ce0422581269e2b13a2ab010c7fb), with each "original_schema"
// as the writer, "update_schema" as the reader, the "dependencies" as
// references, "changes" all the differences found and "compatible" the
// verdict.
var pbConfluentCases = []pbDiffCase{
	{ // 0
		name: "Allow addition of un-reserved property",
		writer: `syntax = "proto3";
package foo;
message TestMessage {
    string test_string = 1;
    .foo.TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
package foo;

message TestMessage {
  string test_string = 1;
  .foo.TestMessage.Status test_int = 2;
  float test_float = 3;

  message Status {
    string test_string = 1;
  }
}
`,
		readerRefs: nil,
		changes:    []string{"FIELD_ADDED #/TestMessage/3"},
		compatible: true,
	},
	{ // 1
		name: "Detect package change",
		writer: `syntax = "proto3";
package foo;
message TestMessage {
    string test_string = 1;
    .foo.TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
package bar;
message TestMessage {
    string test_string = 1;
    .bar.TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    []string{"PACKAGE_CHANGED #/"},
		compatible: false,
	},
	{ // 2
		name: "Detect change to name qualification",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    .TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 3
		name: "Detect change to name qualification with package",
		writer: `syntax = "proto3";
package foo;
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
package foo;
message TestMessage {
    string test_string = 1;
    .foo.TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 4
		name: "Detect added field",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_ADDED #/TestMessage/2"},
		compatible: true,
	},
	{ // 5
		name: "Detect added required field",
		writer: `syntax = "proto2";
message TestMessage {
    optional string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto2";
message TestMessage {
    optional string test_string = 1;
    required string test_string2 = 2;
}`,
		readerRefs: nil,
		changes:    []string{"REQUIRED_FIELD_ADDED #/TestMessage/2"},
		compatible: false,
	},
	{ // 6
		name: "Detect added field to nested type",
		writer: `syntax = "proto3";
message Wrapper {
    int32 wrapperInt = 1;
    message TestMessage {
    string test_string = 1;
}
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Wrapper {
    int32 wrapperInt = 1;
    message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_ADDED #/Wrapper/TestMessage/2"},
		compatible: true,
	},
	{ // 7
		name: "Detect removed field",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}
`,
		readerRefs: nil,
		changes:    []string{"FIELD_REMOVED #/TestMessage/2"},
		compatible: true,
	},
	{ // 8
		name: "Detect removed required field",
		writer: `syntax = "proto2";
message TestMessage {
    optional string test_string = 1;
    required string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto2";
message TestMessage {
    optional string test_string = 1;
}
`,
		readerRefs: nil,
		changes:    []string{"REQUIRED_FIELD_REMOVED #/TestMessage/2"},
		compatible: false,
	},
	{ // 9
		name: "Detect changed field number",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 2;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_REMOVED #/TestMessage/1", "FIELD_ADDED #/TestMessage/2"},
		compatible: true,
	},
	{ // 10
		name: "Detect compatible field number type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int64 test_int = 2;
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 11
		name: "Detect compatible field string type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    bytes test_string2 = 2;
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 12
		name: "Detect field number type to enum change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
}
enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
}`,
		readerRefs: nil,
		changes:    []string{"ENUM_ADDED #/Status"},
		compatible: true,
	},
	{ // 13
		name: "Detect enum type to field number change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
}
enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		readerRefs: nil,
		changes:    []string{"ENUM_REMOVED #/Status"},
		compatible: true,
	},
	{ // 14
		name: "Detect field number type to message with same name as enum",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    .TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}
enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_ADDED #/TestMessage/Status", "ENUM_ADDED #/Status"},
		compatible: false,
	},
	{ // 15
		name: "Detect message with same name as enum to field number change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    .TestMessage.Status test_int = 2;
    message Status {
    string test_string = 1;
    }
}
enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_REMOVED #/TestMessage/Status", "ENUM_REMOVED #/Status"},
		compatible: false,
	},
	{ // 16
		name: "Detect enum const change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
}
enum Status {
    ACTIVE = 0;
    INACTIVE = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    Status test_int = 2;
}
enum Status {
    ACTIVE = 0;
    NOT_ACTIVE = 1;
}`,
		readerRefs: nil,
		changes:    []string{"ENUM_CONST_CHANGED #/Status/1"},
		compatible: true,
	},
	{ // 17
		name: "Detect compatible field to oneof change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    oneof new_oneof {
        string test_string2 = 2;
        int32 other_id = 3;
}
}`,
		readerRefs: nil,
		changes:    []string{"ONEOF_ADDED #/TestMessage/new_oneof", "ONEOF_FIELD_ADDED #/TestMessage/new_oneof/3"},
		compatible: true,
	},
	{ // 18
		name: "Detect incompatible field to oneof change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
        int32 other_id = 3;
}
}`,
		readerRefs: nil,
		changes:    []string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF #/TestMessage/new_oneof", "ONEOF_ADDED #/TestMessage/new_oneof", "ONEOF_FIELD_ADDED #/TestMessage/new_oneof/3"},
		compatible: false,
	},
	{ // 19
		name: "Detect compatible add field to oneof",
		writer: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
}
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
        int32 other_id = 3;
}
}`,
		readerRefs: nil,
		changes:    []string{"ONEOF_FIELD_ADDED #/TestMessage/new_oneof/3"},
		compatible: true,
	},
	{ // 20
		name: "Detect incompatible remove field from oneof",
		writer: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
        int32 other_id = 3;
}
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
}
}`,
		readerRefs: nil,
		changes:    []string{"ONEOF_FIELD_REMOVED #/TestMessage/new_oneof/3"},
		compatible: false,
	},
	{ // 21
		name: "Detect compatible move field to oneof",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    oneof new_oneof {
    string test_string2 = 2;
}
}`,
		readerRefs: nil,
		changes:    []string{"ONEOF_ADDED #/TestMessage/new_oneof"},
		compatible: true,
	},
	{ // 22
		name: "Detect incompatible move field to oneof",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    oneof new_oneof {
    string test_string2 = 2;
    string test_string3 = 3;
}
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    oneof new_oneof {
    string test_string = 1;
    string test_string2 = 2;
    string test_string3 = 3;
}
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof"},
		compatible: false,
	},
	{ // 23
		name: "Detect incompatible move field to renamed oneof",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    oneof new_oneof {
    string test_string2 = 2;
    string test_string3 = 3;
}
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    oneof new_oneof_2 {
    string test_string = 1;
    string test_string2 = 2;
    string test_string3 = 3;
}
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof_2", "ONEOF_REMOVED #/TestMessage/new_oneof", "ONEOF_ADDED #/TestMessage/new_oneof_2"},
		compatible: false,
	},
	{ // 24
		name: "Detect incompatible field type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    TestMessage2 test_int = 2;
}
message TestMessage2 {
    string s1 = 1;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_ADDED #/TestMessage2", "FIELD_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{ // 25
		name: "Detect incompatible field type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    int32 test_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    string test_string2 = 2;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_NAME_CHANGED #/TestMessage/2", "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{ // 26
		name: "Detect incompatible field type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    TestMessage2 test_int = 2;
}
message TestMessage2 {
    string s1 = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    TestMessage3 test_int = 2;
}
message TestMessage3 {
    string s1 = 1;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_REMOVED #/TestMessage2", "MESSAGE_ADDED #/TestMessage3", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{ // 27
		name: "Detect incompatible field type change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    map<string, int32> test_map_int = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    map<string, string> test_map_string = 2;
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_NAME_CHANGED #/TestMessage/2", "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"},
		compatible: false,
	},
	{ // 28
		name: "Detect compatible name qualification in map",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    map<string, Status> test_map = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    map<string, TestMessage.Status> test_map = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 29
		name: "Detect compatible field label change for message",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    optional Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
    repeated Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    nil,
		compatible: true,
	},
	{ // 30
		name: "Detect compatible field label change for string",
		writer: `syntax = "proto3";
message TestMessage {
    optional string test_string = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    repeated string test_string = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"},
		compatible: true,
	},
	{ // 31
		name: "Detect compatible field label change for bytes",
		writer: `syntax = "proto3";
message TestMessage {
    optional bytes test_bytes = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    repeated bytes test_bytes = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"},
		compatible: true,
	},
	{ // 32
		name: "Detect incompatible field label change for number",
		writer: `syntax = "proto3";
message TestMessage {
    optional int32 test_int = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    repeated int32 test_int = 1;
    Status test_status = 2;
    message Status {
    string test_string = 1;
    }
}`,
		readerRefs: nil,
		changes:    []string{"FIELD_NUMERIC_LABEL_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{ // 33
		name: "Detect compatible message addition",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}
message TestMessage2 {
    string test_string = 1;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_ADDED #/TestMessage2"},
		compatible: true,
	},
	{ // 34
		name: "Detect compatible message index change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage2 {
    string test_string = 1;
}
message TestMessage {
    string test_string = 1;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_ADDED #/TestMessage2", "MESSAGE_MOVED #/TestMessage"},
		compatible: true,
	},
	{ // 35
		name: "Detect compatible message index change",
		writer: `syntax = "proto3";
message TestMessage {
    string test_string = 1;
}
message TestMessage2 {
    string test_string = 1;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message TestMessage2 {
    string test_string = 1;
}
message TestMessage {
    string test_string = 1;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_MOVED #/TestMessage2", "MESSAGE_MOVED #/TestMessage"},
		compatible: true,
	},
	{ // 36
		name: "Detect incompatible import change",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`}},
		reader: `syntax = "proto3";
import "google2.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google2.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl2";

message GoogleHome {
  string deviceID = 1;
  bool enabled = 2;
}`}},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{ // 37
		name: "Detect moving to import",
		writer: `syntax = "proto3";
message TestMessage {
    GoogleHome test_string = 1;
    }
message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`,
		writerRefs: nil,
		reader: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`}},
		changes:    []string{"MESSAGE_REMOVED #/GoogleHome"},
		compatible: false,
	},
	{ // 38
		name: "Detect moving from import",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`}},
		reader: `syntax = "proto3";
message TestMessage {
    GoogleHome test_string = 1;
    }
message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`,
		readerRefs: nil,
		changes:    []string{"MESSAGE_ADDED #/GoogleHome"},
		compatible: true,
	},
	{ // 39
		name: "Detect import change with different remote package name",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`}},
		reader: `syntax = "proto3";
import "google2.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain2.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google2.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain2;

option java_outer_classname = "GoogleImpl2";

message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}`}},
		changes:    nil,
		compatible: true,
	},
	{ // 40
		name: "Detect import change with different remote package nested name",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message outer {
  message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}
}`}},
		reader: `syntax = "proto3";
import "google2.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google2.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain2;

option java_outer_classname = "GoogleImpl2";

message outer {
  message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}
}`}},
		changes:    nil,
		compatible: true,
	},
	{ // 41
		name: "Detect incompatible import change with different remote package nested name",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message outer {
  message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}
}`}},
		reader: `syntax = "proto3";
import "google2.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google2.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain2;

option java_outer_classname = "GoogleImpl2";

message outer {
  message GoogleHome {
  string deviceID = 1;
  bool enabled = 2;
}
}`}},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/outer/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{ // 42
		name: "Detect incompatible import change with same subject, different version",
		writer: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain.outer.GoogleHome test_string = 1;
    }`,
		writerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain;

option java_outer_classname = "GoogleImpl";

message outer {
  message GoogleHome {
  int32 deviceID = 1;
  bool enabled = 2;
}
}`}},
		reader: `syntax = "proto3";
import "google.proto";
message TestMessage {
    .io.confluent.cloud.demo.domain2.outer.GoogleHome test_string = 1;
    }`,
		readerRefs: []Ref{{"google.proto", `syntax = "proto3";

package io.confluent.cloud.demo.domain2;

option java_outer_classname = "GoogleImpl2";

message outer {
  message GoogleHome {
  string deviceID = 1;
  bool enabled = 2;
}
}`}},
		changes:    []string{"FIELD_SCALAR_KIND_CHANGED #/outer/GoogleHome/1", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/1"},
		compatible: false,
	},
	{ // 43
		name: "Detect incompatible field type change when enclosing oneof is renamed",
		writer: `syntax = "proto3";
message Message {
  oneof oldOneOf {
    float field_float = 1;
    int32 field_with_incompatible_type_change = 2;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof renamedOneOf {
    float field_float = 1;
    string field_with_incompatible_type_change = 2;
  }
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_REMOVED #/Message/oldOneOf", "ONEOF_ADDED #/Message/renamedOneOf", "FIELD_SCALAR_KIND_CHANGED #/Message/renamedOneOf/2"},
		compatible: false,
	},
	{ // 44
		name: "Detect incompatible field type change when field is moved out of a removed oneof",
		writer: `syntax = "proto3";
message Message {
  oneof oldOneOf {
    float field_float = 1;
    int32 field_with_incompatible_type_change = 2;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  float field_float = 1;
  sint64 field_with_incompatible_type_change = 2;
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_REMOVED #/Message/oldOneOf", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Message/1", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Message/2", "FIELD_SCALAR_KIND_CHANGED #/Message/2"},
		compatible: false,
	},
	{ // 45
		name: "Detect incompatible field type change when field is moved into a new oneof",
		writer: `syntax = "proto3";
message Message {
  float field_float = 1;
  int32 field_with_incompatible_type_change = 2;
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  float field_float = 1;
  oneof newOneOf {
    sint64 field_with_incompatible_type_change = 2;
  }
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_ADDED #/Message/newOneOf", "FIELD_SCALAR_KIND_CHANGED #/Message/newOneOf/2"},
		compatible: false,
	},
	{ // 46
		name: "Detect compatible oneof rename with identical fields",
		writer: `syntax = "proto3";
message Message {
  oneof oldOneOf {
    float field_float = 1;
    int32 field_int = 2;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof renamedOneOf {
    float field_float = 1;
    int32 field_int = 2;
  }
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_REMOVED #/Message/oldOneOf", "ONEOF_ADDED #/Message/renamedOneOf"},
		compatible: true,
	},
	{ // 47
		name: "Detect incompatible field move between two differently-named oneofs",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_a {
    int32 field_1 = 1;
    int32 field_2 = 2;
  }
  oneof oneof_b {
    int32 field_3 = 3;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_a {
    int32 field_1 = 1;
  }
  oneof oneof_b {
    int32 field_3 = 3;
    int32 field_2 = 2;
  }
}
`,
		readerRefs: nil,
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/Message/oneof_b"},
		compatible: false,
	},
	{ // 48
		name: "Detect incompatible move of a field from a deleted oneof into an existing oneof",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_a { int32 field_a = 1; }
  oneof oneof_b { int32 field_b = 3; }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_b { int32 field_b = 3; int32 field_a = 1; }
}
`,
		readerRefs: nil,
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/Message/oneof_b", "ONEOF_REMOVED #/Message/oneof_a"},
		compatible: false,
	},
	{ // 49
		name: "Detect incompatible merge of two oneofs into a new oneof",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_a { int32 field_a = 1; }
  oneof oneof_b { int32 field_b = 2; }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_c { int32 field_a = 1; int32 field_b = 2; }
}
`,
		readerRefs: nil,
		changes:    []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/Message/oneof_c", "ONEOF_REMOVED #/Message/oneof_a", "ONEOF_REMOVED #/Message/oneof_b", "ONEOF_ADDED #/Message/oneof_c"},
		compatible: false,
	},
	{ // 50
		name: "Detect compatible move of a single field into a new singleton oneof from a surviving oneof",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_a { int32 field_a = 1; int32 field_b = 2; }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_a { int32 field_b = 2; }
  oneof oneof_b { int32 field_a = 1; }
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_ADDED #/Message/oneof_b"},
		compatible: true,
	},
	{ // 51
		name: "Detect incompatible drop of a oneof member while renaming the oneof",
		writer: `syntax = "proto3";
message Message {
  oneof g { int32 a = 1; int32 b = 2; }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof g2 { int32 a = 1; }
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_REMOVED #/Message/g", "ONEOF_ADDED #/Message/g2", "ONEOF_FIELD_REMOVED #/Message/g/2"},
		compatible: false,
	},
	{ // 52
		name: "Detect compatible move field out of a oneof to top level",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_x {
    int32 field_a = 1;
    int32 field_b = 2;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_x {
    int32 field_a = 1;
  }
  int32 field_b = 2;
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Message/2"},
		compatible: true,
	},
	{ // 53
		name: "Detect incompatible type change when field moved out of a oneof to top level",
		writer: `syntax = "proto3";
message Message {
  oneof oneof_x {
    int32 field_a = 1;
    int32 field_b = 2;
  }
}
`,
		writerRefs: nil,
		reader: `syntax = "proto3";
message Message {
  oneof oneof_x {
    int32 field_a = 1;
  }
  string field_b = 2;
}
`,
		readerRefs: nil,
		changes:    []string{"ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Message/2", "FIELD_SCALAR_KIND_CHANGED #/Message/2"},
		compatible: false,
	},
}

func TestProtobufConfluentDiffCases(t *testing.T) {
	f, ok := Lookup("PROTOBUF")
	if !ok {
		t.Fatal("PROTOBUF not registered")
	}
	for _, tc := range pbConfluentCases {
		t.Run(tc.name, func(t *testing.T) {
			w := pbMustCompile(t, tc.writer, tc.writerRefs)
			r := pbMustCompile(t, tc.reader, tc.readerRefs)
			wfd, _ := pbCompile(w)
			rfd, _ := pbCompile(r)
			var got []string
			for _, d := range pbDiff(wfd, rfd) {
				got = append(got, d.String())
			}
			slices.Sort(got)
			got = slices.Compact(got)
			want := slices.Clone(tc.changes)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("differences:\n got %q\nwant %q", got, want)
			}
			msgs := f.CanRead(r, w)
			if (len(msgs) == 0) != tc.compatible {
				t.Errorf("CanRead = %q, want compatible=%v", msgs, tc.compatible)
			}
		})
	}
}

// pbRuleCases cover the rules case by case beyond Confluent's examples.
// Each verdict follows Confluent's FieldSchemaDiff/MessageSchemaDiff/
// SchemaDiff (confluentinc/schema-registry, protobuf-provider,
// io.confluent.kafka.schemaregistry.protobuf.diff) and its
// COMPATIBLE_CHANGES; the scalar groups are protobuf's "Updating A Message
// Type" rules (https://protobuf.dev/programming-guides/proto3/#updating)
// as Confluent's ScalarKind groups them.
var pbRuleCases = []struct {
	name           string
	writer, reader string
	incompatible   []string // the incompatible differences, "TYPE #/path"
}{
	{"int32 to uint64", `syntax = "proto3"; message M { int32 a = 1; }`, `syntax = "proto3"; message M { uint64 a = 1; }`, nil},
	{"bool to int32", `syntax = "proto3"; message M { bool a = 1; }`, `syntax = "proto3"; message M { int32 a = 1; }`, nil},
	{"enum to int64", `syntax = "proto3"; message M { E a = 1; } enum E { Z = 0; }`, `syntax = "proto3"; message M { int64 a = 1; }`, nil},
	{"sint32 to sint64", `syntax = "proto3"; message M { sint32 a = 1; }`, `syntax = "proto3"; message M { sint64 a = 1; }`, nil},
	{"sint32 to int32", `syntax = "proto3"; message M { sint32 a = 1; }`, `syntax = "proto3"; message M { int32 a = 1; }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}},
	{"enum to sint32", `syntax = "proto3"; message M { E a = 1; } enum E { Z = 0; }`, `syntax = "proto3"; message M { sint32 a = 1; } enum E { Z = 0; }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}},
	{"fixed32 to sfixed32", `syntax = "proto3"; message M { fixed32 a = 1; }`, `syntax = "proto3"; message M { sfixed32 a = 1; }`, nil},
	{"fixed64 to sfixed64", `syntax = "proto3"; message M { fixed64 a = 1; }`, `syntax = "proto3"; message M { sfixed64 a = 1; }`, nil},
	{"fixed32 to fixed64", `syntax = "proto3"; message M { fixed32 a = 1; }`, `syntax = "proto3"; message M { fixed64 a = 1; }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}},
	{"float to double", `syntax = "proto3"; message M { float a = 1; }`, `syntax = "proto3"; message M { double a = 1; }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}},
	{"bytes to string", `syntax = "proto3"; message M { bytes a = 1; }`, `syntax = "proto3"; message M { string a = 1; }`, nil},
	{"scalar to message", `syntax = "proto3"; message M { string a = 1; } message N {}`, `syntax = "proto3"; message M { N a = 1; } message N {}`, []string{"FIELD_KIND_CHANGED #/M/1"}},
	{"map to message", `syntax = "proto3"; message M { map<string, int32> a = 1; } message N {}`, `syntax = "proto3"; message M { N a = 1; } message N {}`, []string{"FIELD_KIND_CHANGED #/M/1"}},
	{"map key kind", `syntax = "proto3"; message M { map<string, int32> a = 1; }`, `syntax = "proto3"; message M { map<int64, int32> a = 1; }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}},
	{"map value message renamed", `syntax = "proto3"; message M { map<string, N> a = 1; } message N {} message O {}`, `syntax = "proto3"; message M { map<string, O> a = 1; } message N {} message O {}`, []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"}},
	{"message removed", `syntax = "proto3"; message M {} message N {}`, `syntax = "proto3"; message M {}`, []string{"MESSAGE_REMOVED #/N"}},
	{"nested message removed", `syntax = "proto3"; message M { message N {} }`, `syntax = "proto3"; message M {}`, []string{"MESSAGE_REMOVED #/M/N"}},
	{"package changed", `syntax = "proto3"; package a; message M {}`, `syntax = "proto3"; package b; message M {}`, []string{"PACKAGE_CHANGED #/"}},
	{"enum constant removed", `syntax = "proto3"; message M { E e = 1; } enum E { A = 0; B = 1; }`, `syntax = "proto3"; message M { E e = 1; } enum E { A = 0; }`, nil},
	{"field renamed", `syntax = "proto3"; message M { int32 a = 1; }`, `syntax = "proto3"; message M { int32 b = 1; }`, nil},
	{"proto2 optional to required number", `syntax = "proto2"; message M { optional int32 a = 1; }`, `syntax = "proto2"; message M { required int32 a = 1; }`, []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"}},
	{"proto2 optional to repeated string", `syntax = "proto2"; message M { optional string a = 1; }`, `syntax = "proto2"; message M { repeated string a = 1; }`, nil},
	{"proto3 unlabelled to repeated number", `syntax = "proto3"; message M { int32 a = 1; }`, `syntax = "proto3"; message M { repeated int32 a = 1; }`, nil}, // no label: not compared
	{"proto2 required field added", `syntax = "proto2"; message M {}`, `syntax = "proto2"; message M { required int32 a = 1; }`, []string{"REQUIRED_FIELD_ADDED #/M/1"}},
	{"oneof field removed", `syntax = "proto3"; message M { oneof o { int32 a = 1; int32 b = 2; } }`, `syntax = "proto3"; message M { oneof o { int32 a = 1; } }`, []string{"ONEOF_FIELD_REMOVED #/M/o/2"}},
	{"whole oneof removed", `syntax = "proto3"; message M { oneof o { int32 a = 1; int32 b = 2; } }`, `syntax = "proto3"; message M {}`, nil},
	{"proto3 optional is no oneof", `syntax = "proto3"; message M { optional int32 a = 1; int32 b = 2; }`, `syntax = "proto3"; message M { int32 b = 2; }`, nil},
	{"group field changed", `syntax = "proto2"; message M { optional group G = 1 { optional int32 x = 2; } }`, `syntax = "proto2"; message M { optional group G = 1 { optional string x = 2; } }`, []string{"FIELD_SCALAR_KIND_CHANGED #/M/G/2"}},
	{"imported type changed (recursive)",
		`syntax = "proto3"; import "t.proto"; message M { t.Tree t = 1; }`,
		`syntax = "proto3"; import "t.proto"; message M { t.Tree t = 1; }`,
		[]string{"FIELD_NAMED_TYPE_CHANGED #/M/1", "FIELD_SCALAR_KIND_CHANGED #/Tree/1"}},
	{"well-known type kept", `syntax = "proto3"; import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; }`,
		`syntax = "proto3"; import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; int32 n = 2; }`, nil},
	{"well-known type swapped", `syntax = "proto3"; import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; }`,
		`syntax = "proto3"; import "google/protobuf/duration.proto"; message M { google.protobuf.Duration t = 1; }`, []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"}},
}

func TestProtobufRules(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	// Refs for the "imported" cases: the writer's and the reader's
	// versions of t.proto, a recursive type whose field 1 changes kind.
	wRefs := []Ref{{"t.proto", `syntax = "proto3"; package t; message Tree { int32 v = 1; repeated Tree kids = 2; map<string, Tree> named = 3; }`}}
	rRefs := []Ref{{"t.proto", `syntax = "proto3"; package t; message Tree { string v = 1; repeated Tree kids = 2; map<string, Tree> named = 3; }`}}
	for _, tc := range pbRuleCases {
		t.Run(tc.name, func(t *testing.T) {
			w := pbMustCompile(t, tc.writer, wRefs)
			r := pbMustCompile(t, tc.reader, rRefs)
			wfd, _ := pbCompile(w)
			rfd, _ := pbCompile(r)
			var got []string
			for _, d := range pbDiff(wfd, rfd) {
				if !pbCompatible[d.typ] {
					got = append(got, d.String())
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, tc.incompatible) {
				t.Errorf("incompatible differences:\n got %q\nwant %q", got, tc.incompatible)
			}
			msgs := f.CanRead(r, w)
			if len(msgs) != len(tc.incompatible) {
				t.Errorf("CanRead = %q", msgs)
			}
			for _, want := range tc.incompatible {
				typ, path, _ := strings.Cut(want, " ")
				if !slices.ContainsFunc(msgs, func(m string) bool {
					return strings.HasPrefix(m, `{errorType:"`+typ+`"`) && strings.Contains(m, "'"+path+"'")
				}) {
					t.Errorf("CanRead = %q, want a message for %s", msgs, want)
				}
			}
		})
	}
}

func TestProtobufCanReadMessage(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	w := Schema{Text: `syntax = "proto3"; message M { int32 a = 1; }`}
	r := Schema{Text: `syntax = "proto3"; message M { string a = 1; }`}
	got := f.CanRead(r, w)
	want := []string{`{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/M/1' in the reader schema does not match its kind in the writer schema"}`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := f.CanRead(w, w); len(got) != 0 {
		t.Errorf("self: %q", got)
	}
}

func TestProtobufParseReferences(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	// A reference's own reference comes first in the flat list.
	refs := []Ref{
		{"common/base.proto", `syntax = "proto3"; package common; message Base { string id = 1; }`},
		{"common/other.proto", `syntax = "proto3"; package common; import "common/base.proto"; message Other { Base base = 1; }`},
	}
	main := `syntax = "proto3";
package app;
import "common/other.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message Event {
  common.Other other = 1;
  google.protobuf.Timestamp at = 2;
  google.protobuf.StringValue note = 3;
}`
	if _, err := f.Parse(Schema{Text: main, Refs: refs}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Parse(Schema{Text: main, Refs: refs[1:]}); err == nil || !strings.Contains(err.Error(), "common/base.proto") {
		t.Errorf("missing transitive reference: err = %v", err)
	}
	if _, err := f.Parse(Schema{Text: main}); err == nil || !strings.Contains(err.Error(), "common/other.proto") {
		t.Errorf("missing reference: err = %v", err)
	}
	// A reference named like the main file's internal name does not clash.
	clash := []Ref{{pbMainName, `syntax = "proto3"; message X {}`}}
	if _, err := f.Parse(Schema{Text: `syntax = "proto3"; import "` + pbMainName + `"; message M { X x = 1; }`, Refs: clash}); err != nil {
		t.Errorf("clash: %v", err)
	}
}

func TestProtobufParseInvalid(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	for _, text := range []string{
		``,
		"  \n",
		`garbage`,
		`syntax = "proto3"; message M { int32 a = 1; int32 b = 1; }`,
		`syntax = "proto3"; message M { Unknown a = 1; }`,
		`syntax = "proto3"; message M { required int32 a = 1; }`,
		`syntax = "proto4"; message M {}`,
		`syntax = "proto3"; enum E { A = 1; }`, // proto3 enums start at 0
		`syntax = "proto3"; import "self.proto"; message M {}`,
		base64.StdEncoding.EncodeToString([]byte("\x0a")), // truncated descriptor
	} {
		if c, err := f.Parse(Schema{Text: text}); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", text, c)
		}
	}
	// An import cycle among references.
	refs := []Ref{
		{"a.proto", `syntax = "proto3"; import "b.proto"; message A {}`},
		{"b.proto", `syntax = "proto3"; import "a.proto"; message B {}`},
	}
	if _, err := f.Parse(Schema{Text: `syntax = "proto3"; import "a.proto"; message M {}`, Refs: refs}); err == nil {
		t.Error("import cycle accepted")
	}
}

func TestProtobufCanonical(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	canon := func(text string, refs ...Ref) string {
		t.Helper()
		c, err := f.Parse(Schema{Text: text, Refs: refs})
		if err != nil {
			t.Fatalf("Parse: %v\n%s", err, text)
		}
		return c
	}
	base := canon(`syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

// An order.
message Order {
  string id = 1;
  repeated Item items = 2 [deprecated = true, json_name = "its"];
  google.protobuf.Timestamp at = 3;
  Status status = 4;
  message Item { int64 sku = 1; }
}

enum Status { UNKNOWN = 0; PAID = 1; }
`)
	// Same schema: other layout, comments, qualification and option order,
	// enums declared before messages (the descriptor keeps them apart).
	same := []string{
		`syntax="proto3";package shop;import "google/protobuf/timestamp.proto";
/* block comment */ enum Status{UNKNOWN=0;PAID=1;}
message Order{string id=1;repeated .shop.Order.Item items=2[json_name="its",deprecated=true];
.google.protobuf.Timestamp at=3; // trailing
shop.Status status=4;message Item{int64 sku=1;}}`,
	}
	for _, s := range same {
		if c := canon(s); c != base {
			t.Errorf("reformatted schema: canonical text differs:\n%s\nvs\n%s", c, base)
		}
	}
	// Any semantic change gives another canonical text.
	different := []string{
		strings.Replace(same[0], "sku=1", "sku=2", 1),                                      // field number
		strings.Replace(same[0], "int64 sku", "uint64 sku", 1),                             // type
		strings.Replace(same[0], "sku=1", "skew=1", 1),                                     // field name
		strings.Replace(same[0], "package shop;", "package shop2;", 1),                     // package (names qualified below stay resolvable)
		strings.Replace(same[0], "PAID=1", "PAID=2", 1),                                    // enum value
		strings.Replace(same[0], `json_name="its",`, "", 1),                                // option
		strings.Replace(same[0], "repeated .shop", "repeated shop", 1) + "message Extra{}", // new message
		`syntax="proto2";package shop;message Order{optional string id=1;}`,                // syntax
	}
	different[3] = strings.ReplaceAll(different[3], "shop.", "shop2.")
	seen := map[string]int{base: -1}
	for i, s := range different {
		c := canon(s)
		if j, ok := seen[c]; ok {
			t.Errorf("changed schema %d has the canonical text of %d:\n%s", i, j, c)
		}
		seen[c] = i
	}
	if canon(`syntax = "proto2"; message A { optional int32 x = 1; }`) == canon(`syntax = "proto3"; message A { optional int32 x = 1; }`) {
		t.Error("syntax lost")
	}
	// Declaration order of messages is kept: Confluent's message indexes
	// depend on it.
	if canon(`syntax = "proto3"; message A {} message B {}`) == canon(`syntax = "proto3"; message B {} message A {}`) {
		t.Error("message order lost")
	}
	// The canonical text is a schema with itself as canonical text.
	for _, tc := range pbConfluentCases {
		for _, s := range []Schema{{tc.writer, tc.writerRefs}, {tc.reader, tc.readerRefs}} {
			c1 := canon(s.Text, s.Refs...)
			if c2 := canon(c1, s.Refs...); c2 != c1 {
				t.Errorf("%s: canonical text not stable:\n%s\nvs\n%s", tc.name, c1, c2)
			}
		}
	}
}

// Confluent also takes a base64 serialized FileDescriptorProto as schema
// text; it is the same schema as the .proto it describes.
func TestProtobufParseDescriptor(t *testing.T) {
	f, _ := Lookup("PROTOBUF")
	refs := []Ref{{"other.proto", `syntax = "proto3"; package o; message Other { int32 v = 1; }`}}
	text := `syntax = "proto3"; package p; import "other.proto"; import "google/protobuf/any.proto";
message M { o.Other other = 1; google.protobuf.Any any = 2; map<string, int32> m = 3; optional string s = 4; }`
	want, err := f.Parse(Schema{Text: text, Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := pbCompile(Schema{Text: text, Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	fdp := protodesc.ToFileDescriptorProto(fd)
	fdp.Name = proto.String("whatever/name.proto")
	b, err := proto.Marshal(fdp)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(b)
	got, err := f.Parse(Schema{Text: enc, Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("descriptor canonical text:\n%s\nwant\n%s", got, want)
	}
	if _, err := f.Parse(Schema{Text: enc}); err == nil {
		t.Error("descriptor without its reference accepted")
	}
	// As a reference too.
	if _, err := f.Parse(Schema{Text: `syntax = "proto3"; import "d.proto"; message X { p.M m = 1; }`,
		Refs: append(refs, Ref{"d.proto", enc})}); err != nil {
		t.Errorf("descriptor as reference: %v", err)
	}
	// Differences are seen through the descriptor form.
	r := Schema{Text: strings.Replace(text, "o.Other other = 1", "string other = 1", 1), Refs: refs}
	if msgs := f.CanRead(r, Schema{Text: enc, Refs: refs}); len(msgs) == 0 {
		t.Error("no difference found against the descriptor form")
	}
}

func FuzzProtobufParse(f *testing.F) {
	for _, tc := range pbConfluentCases[:10] {
		f.Add(tc.writer)
	}
	for _, tc := range pbRuleCases {
		f.Add(tc.reader)
	}
	f.Add(`syntax = "proto2"; message P { required int32 a = 1; optional group G = 2 { optional int32 x = 3; } extensions 100 to 200; } extend P { optional int32 ext = 100; }`)
	f.Add(`edition = "2023"; message Q { int32 a = 1 [features.field_presence = IMPLICIT]; }`)
	f.Add(`syntax = "proto3"; import "r.proto"; message M { R r = 1; }`)
	f.Add(base64.StdEncoding.EncodeToString([]byte("\x0a\x01a\x22\x03\x0a\x01M")))
	format, _ := Lookup("PROTOBUF")
	refs := []Ref{{"r.proto", `syntax = "proto3"; message R { int32 v = 1; }`}}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := format.Parse(Schema{Text: text, Refs: refs})
		if err != nil {
			return
		}
		c2, err := format.Parse(Schema{Text: c, Refs: refs})
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s", err, c)
		}
		if c2 != c {
			t.Fatalf("canonical text not stable:\n%s\nvs\n%s", c, c2)
		}
		s := Schema{Text: text, Refs: refs}
		if msgs := format.CanRead(s, s); len(msgs) != 0 {
			t.Fatalf("schema cannot read itself: %q", msgs)
		}
	})
}
