package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// BenchmarkGrantV2 measures a client_credentials grant over HTTP (parse,
// validate, look up, SHA-256 compare, write lastLogin, sign ES256) against
// two baselines measured in the same run:
//
//	grant    x_healthz: grant time / GET /healthz time over the same stack
//	bcrypt10 x_grant:   one bcrypt cost-10 check / one whole grant, what a
//	         KDF-hashed secret would add to every login
//
//	go test -run '^$' -bench BenchmarkGrantV2 -benchtime 2s ./server/
func BenchmarkGrantV2(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			s := servertest.New(b, e, servertest.Options{})
			r := s.Do(b, servertest.Request{Method: http.MethodPost, Path: "/api/v1/user-applications",
				Token: s.Token(b, "bench@example.com", false), Body: gen.CreateUserApplicationJSONRequestBody{Name: "bench"}})
			var app gen.CreateUserApplication201JSONResponse
			r.JSON(b, &app)
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientId}, "client_secret": {app.Secret}}.Encode()
			client := &http.Client{}
			call := func(b *testing.B, method, path, body string) {
				req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
				if body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
				}
			}

			// Sub-benchmarks run in order; each ratio uses the baseline
			// measured just before it in the same run.
			perOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
			var healthzNs, grantNs float64
			b.Run("healthz", func(b *testing.B) {
				for b.Loop() {
					call(b, http.MethodGet, server.PathHealthz, "")
				}
				healthzNs = perOp(b)
			})
			b.Run("grant", func(b *testing.B) {
				for b.Loop() {
					call(b, http.MethodPost, server.PathTokenV2, form)
				}
				grantNs = perOp(b)
				if healthzNs > 0 {
					b.ReportMetric(grantNs/healthzNs, "x_healthz")
				}
			})
			b.Run("bcrypt10", func(b *testing.B) {
				hash, err := bcrypt.GenerateFromPassword([]byte(app.Secret), 10)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if bcrypt.CompareHashAndPassword(hash, []byte(app.Secret)) != nil {
						b.Fatal("bcrypt mismatch")
					}
				}
				if grantNs > 0 {
					b.ReportMetric(perOp(b)/grantNs, "x_grant")
				}
			})
		})
	}
}
