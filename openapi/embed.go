package openapi

import _ "embed"

// MergedYAML is openapi/runai.yaml exactly as committed: the spec this build
// implements, with operationIds as Run:ai wrote them. (The copy embedded in
// gen has them renamed to Go identifiers by oapi-codegen, so it is not served.)
//
//go:embed runai.yaml
var MergedYAML []byte
