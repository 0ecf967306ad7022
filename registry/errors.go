package registry

import (
	"fmt"
	"strings"
)

// apiError is an answer in the registry's error shape: error_code, whose
// first three digits are the HTTP status, and a message.
type apiError struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

// status is the HTTP status of the code (40401 -> 404, 409 -> 409).
func (e *apiError) status() int {
	c := e.Code
	for c >= 1000 {
		c /= 10
	}
	return c
}

func errSubjectNotFound(s string) *apiError {
	return &apiError{40401, fmt.Sprintf("Subject '%s' not found.", s)}
}

func errVersionNotFound(v int) *apiError {
	return &apiError{40402, fmt.Sprintf("Version %d not found.", v)}
}

func errSchemaNotFound() *apiError { return &apiError{40403, "Schema not found"} }

func errSubjectSoftDeleted(s string) *apiError {
	return &apiError{40404, fmt.Sprintf("Subject '%s' was soft deleted.Set permanent=true to delete permanently", s)}
}

func errSubjectNotSoftDeleted(s string) *apiError {
	return &apiError{40405, fmt.Sprintf("Subject '%s' was not deleted first before being permanently deleted", s)}
}

func errVersionSoftDeleted(s string, v int) *apiError {
	return &apiError{40406, fmt.Sprintf("Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", s, v)}
}

func errVersionNotSoftDeleted(s string, v int) *apiError {
	return &apiError{40407, fmt.Sprintf("Subject '%s' Version %d was not deleted first before being permanently deleted", s, v)}
}

func errSubjectLevelNotFound(s string) *apiError {
	return &apiError{40408, fmt.Sprintf("Subject '%s' does not have subject-level compatibility configured", s)}
}

func errIncompatible(msgs []string) *apiError {
	return &apiError{409, "Schema being registered is incompatible with an earlier schema for subject; " + strings.Join(msgs, "; ")}
}

func errInvalidSchema(err error) *apiError {
	return &apiError{42201, "Invalid schema: " + err.Error()}
}

func errInvalidVersion(v string) *apiError {
	return &apiError{42202, fmt.Sprintf("The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)}
}

func errInvalidLevel(l string) *apiError {
	return &apiError{42203, fmt.Sprintf("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive; got '%s'", l)}
}

func errInvalidMode(m string) *apiError {
	return &apiError{42204, fmt.Sprintf("Invalid mode '%s': only READWRITE is served", m)}
}

func errReferenced(s string, v int) *apiError {
	return &apiError{42206, fmt.Sprintf("One or more references exist to the schema {subject=%s,version=%d}.", s, v)}
}

func errStore(err error) *apiError {
	return &apiError{50001, "Error in the backend data store: " + err.Error()}
}

func errTimeout() *apiError {
	return &apiError{50002, "Operation timed out"}
}
