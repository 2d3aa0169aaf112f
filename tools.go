//go:build tools

// Package tools pins the versions of the code generators and spec tools this
// module runs (go run <path> uses the version in go.mod).
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/oasdiff/oasdiff"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
