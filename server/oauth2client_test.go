package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/runai-compat/userapps/gen"
	"github.com/runai-compat/userapps/server"
	"github.com/runai-compat/userapps/server/servertest"
	"github.com/runai-compat/userapps/store/dbtest"
)

// A standard OAuth2 client library, given only the base URL and an
// application's credentials, finds the token endpoint in the discovery
// document, gets a token and calls the API. Every response it receives,
// token endpoint included, is checked against the spec.
func TestStandardOAuth2ClientLibrary(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e dbtest.Engine) {
		s := servertest.New(t, e, servertest.Options{})
		a := createApp(t, s, s.Token(t, alice, false), "ci")
		hc := s.Client(t)
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

		resp, err := hc.Get(s.URL + server.PathOpenIDConfig)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			TokenEndpoint string `json:"token_endpoint"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || doc.TokenEndpoint == "" {
			t.Fatalf("discovery: %v %+v", err, doc)
		}

		for _, style := range []struct {
			name  string
			style oauth2.AuthStyle
		}{{"basic", oauth2.AuthStyleInHeader}, {"post", oauth2.AuthStyleInParams}, {"autodetect", oauth2.AuthStyleAutoDetect}} {
			t.Run(style.name, func(t *testing.T) {
				cfg := clientcredentials.Config{ClientID: a.clientID, ClientSecret: a.secret, TokenURL: doc.TokenEndpoint, AuthStyle: style.style}
				tok, err := cfg.Token(ctx)
				if err != nil || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
					t.Fatalf("token: %+v, %v", tok, err)
				}
				client := cfg.Client(ctx)
				resp, err := client.Get(s.URL + "/api/v1/user-applications")
				if err != nil {
					t.Fatal(err)
				}
				var list gen.GetUserApplications200JSONResponse
				err = json.NewDecoder(resp.Body).Decode(&list)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil || len(list) != 1 || list[0].ClientId != a.clientID {
					t.Errorf("list through the OAuth2 client: %d %v %+v", resp.StatusCode, err, list)
				}
			})
		}

		// A wrong secret surfaces as the library's RFC 6749 error.
		cfg := clientcredentials.Config{ClientID: a.clientID, ClientSecret: "wrong", TokenURL: doc.TokenEndpoint}
		_, err = cfg.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong secret: %v, want a RetrieveError invalid_client 401", err)
		}
	})
}
