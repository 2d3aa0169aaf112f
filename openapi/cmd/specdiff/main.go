// Command specdiff reports the API changes between two versions of the merged
// spec with oasdiff, and fails on a breaking change that the acknowledgement
// file does not name:
//
//	go run ./openapi/cmd/specdiff -base base.yaml -revision openapi/runai.yaml \
//	    -ack openapi/breaking-changes-ack.yaml
//
// make spec-diff (.ci/spec-diff.sh) finds the base revision and calls it.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
	"gopkg.in/yaml.v3"
)

// Ack acknowledges one breaking change: oasdiff's change id, the path (and,
// optionally, the method) it is on, and why we accept it.
type Ack struct {
	ID        string `yaml:"id"`
	Path      string `yaml:"path"`
	Operation string `yaml:"operation,omitempty"`
	Reason    string `yaml:"reason"`
}

type ackFile struct {
	Acknowledged []Ack `yaml:"acknowledged"`
}

func main() {
	base := flag.String("base", "", "merged spec of the base revision")
	rev := flag.String("revision", "openapi/runai.yaml", "merged spec of this revision")
	ack := flag.String("ack", "openapi/breaking-changes-ack.yaml", "acknowledged breaking changes")
	flag.Parse()
	breaking, err := run(*base, *rev, *ack, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spec-diff:", err)
		os.Exit(2)
	}
	if breaking > 0 {
		fmt.Fprintf(os.Stderr, "spec-diff: %d breaking change(s) not acknowledged in %s\n", breaking, *ack)
		os.Exit(1)
	}
}

// run prints every change and returns how many breaking ones are not acknowledged.
func run(basePath, revPath, ackPath string, out io.Writer) (int, error) {
	if basePath == "" {
		return 0, errors.New("-base is required")
	}
	acks, err := readAcks(ackPath)
	if err != nil {
		return 0, err
	}
	loader := openapi3.NewLoader()
	s1, err := load.NewSpecInfo(loader, load.NewSource(basePath))
	if err != nil {
		return 0, fmt.Errorf("base: %w", err)
	}
	s2, err := load.NewSpecInfo(loader, load.NewSource(revPath))
	if err != nil {
		return 0, fmt.Errorf("revision: %w", err)
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return 0, err
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.INFO)
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].GetLevel() != changes[j].GetLevel() {
			return changes[i].GetLevel() > changes[j].GetLevel()
		}
		return changes[i].GetPath()+changes[i].GetOperation() < changes[j].GetPath()+changes[j].GetOperation()
	})
	l := checker.NewDefaultLocalizer()
	used := make([]bool, len(acks))
	unacked := 0
	fmt.Fprintf(out, "API changes %s -> %s: %d\n", basePath, revPath, len(changes))
	for _, c := range changes {
		mark := ""
		if c.GetLevel() == checker.ERR {
			if i := match(acks, c); i >= 0 {
				used[i] = true
				mark = "  [acknowledged: " + acks[i].Reason + "]"
			} else {
				unacked++
				mark = "  [BREAKING, not acknowledged]"
			}
		}
		fmt.Fprintf(out, "%-7s %s %s %s: %s%s\n", c.GetLevel(), c.GetId(), c.GetOperation(), c.GetPath(), c.GetUncolorizedText(l), mark)
	}
	for i, a := range acks {
		if !used[i] {
			fmt.Fprintf(out, "note: acknowledgement %s %s %s matches no change in this diff (stale once the base moves on)\n", a.ID, a.Operation, a.Path)
		}
	}
	if unacked > 0 {
		fmt.Fprintf(out, "\nTo accept a breaking change on purpose, add it to %s:\n  - id: <id above>\n    path: <path above>\n    operation: <method, optional>\n    reason: <why clients are not hurt, or what they must do>\n", ackPath)
	}
	return unacked, nil
}

func match(acks []Ack, c checker.Change) int {
	for i, a := range acks {
		if a.ID == c.GetId() && a.Path == c.GetPath() && (a.Operation == "" || a.Operation == c.GetOperation()) {
			return i
		}
	}
	return -1
}

func readAcks(path string) ([]Ack, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f ackFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, a := range f.Acknowledged {
		if a.ID == "" || a.Path == "" || a.Reason == "" {
			return nil, fmt.Errorf("%s: every acknowledgement needs id, path and reason: %+v", path, a)
		}
	}
	return f.Acknowledged, nil
}
