package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/runai-compat/userapps/openapi"
)

// Paths of the merged spec this build implements, served unauthenticated so
// clients and the contract suite can fetch exactly what the service speaks.
const (
	PathOpenAPIJSON = "/openapi.json"
	PathOpenAPIYAML = "/openapi.yaml"
)

// registerSpec serves the committed merged spec (the same file gen is
// generated from; make check-generate keeps the two in step) as YAML, byte
// for byte, and as JSON rendered once at start-up.
func registerSpec(e *echo.Echo) error {
	var doc any
	if err := yaml.Unmarshal(openapi.MergedYAML, &doc); err != nil {
		return fmt.Errorf("merged spec: %w", err)
	}
	jsonDoc, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("merged spec as JSON: %w", err)
	}
	e.GET(PathOpenAPIJSON, func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, jsonDoc)
	})
	e.GET(PathOpenAPIYAML, func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", openapi.MergedYAML)
	})
	return nil
}
