// Command merge writes the merged spec from the fragments:
//
//	go run ./openapi/cmd/merge -in openapi/fragments -out openapi/runai.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/runai-compat/userapps/openapi"
)

func main() {
	in := flag.String("in", "openapi/fragments", "folder of *.json fragments")
	out := flag.String("out", "openapi/runai.yaml", "merged spec to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "merge:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	frags, err := openapi.LoadFragments(in)
	if err != nil {
		return err
	}
	doc, err := openapi.Merge(frags)
	if err != nil {
		return err
	}
	data, err := openapi.MarshalYAML(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}
