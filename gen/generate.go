// Package gen holds only code generated from openapi/runai.yaml; never edit it by hand.
package gen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen --config=cfg.yaml ../openapi/runai.yaml
