// Package m2 finds jars in the local Maven repository (~/.m2), for tests
// that run Java clients fetched with mvn dependency:get.
package m2

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Classpath joins the newest jar matching each glob (relative to
// ~/.m2/repository); ok is false when one has no match.
func Classpath(globs ...string) (string, bool) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", false
	}
	repo := filepath.Join(home, ".m2", "repository")
	jars := make([]string, 0, len(globs))
	for _, g := range globs {
		found, _ := filepath.Glob(filepath.Join(repo, g))
		if len(found) == 0 {
			return "", false
		}
		sort.Strings(found)
		jars = append(jars, found[len(found)-1])
	}
	return strings.Join(jars, string(os.PathListSeparator)), true
}
