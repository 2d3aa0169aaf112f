package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store"
	"github.com/runai-compat/userapps/store/dbtest"
)

// BenchmarkAPI measures operations over real HTTP against the full stack
// (validator, JWT check, handler, store). Read the results as ratios to
// the healthz baseline of the same run, which costs only HTTP and routing:
//
//	go test -run '^$' -bench BenchmarkAPI -benchtime 2s ./server/
func BenchmarkAPI(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			s := servertest.New(b, e, servertest.Options{MaxAppsPerUser: 1 << 30})
			tok := s.Token(b, alice, false)
			for i := range 50 { // a realistic list size
				create(&testing.T{}, s, tok, fmt.Sprintf("seed-%d", i))
			}
			apps, _ := s.Store.List(b.Context(), storeFilter(alice))
			id := apps[0].ID
			client := &http.Client{}
			do := func(b *testing.B, method, path string, body []byte, want int) {
				req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
				}
			}
			b.Run("healthz-baseline", func(b *testing.B) {
				for b.Loop() {
					do(b, "GET", "/healthz", nil, 200)
				}
			})
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					do(b, "GET", "/api/v1/user-applications/"+id, nil, 200)
				}
			})
			b.Run("list-50", func(b *testing.B) {
				for b.Loop() {
					do(b, "GET", "/api/v1/user-applications", nil, 200)
				}
			})
			b.Run("create", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					do(b, "POST", "/api/v1/user-applications", []byte(fmt.Sprintf(`{"name":"bench-%d"}`, i)), 201)
				}
			})
			b.Run("regenerate", func(b *testing.B) {
				for b.Loop() {
					do(b, "POST", "/api/v1/user-applications/"+id+"/secret", nil, 200)
				}
			})
		})
	}
}

func storeFilter(user string) store.Filter { return store.Filter{CreatedBy: &user} }
