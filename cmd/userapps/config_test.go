package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestServeTokenFlags(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		name    string
		args    []string
		env     map[string]string
		ttl     time.Duration
		public  string
		wantErr string
	}{
		{name: "defaults", ttl: time.Hour},
		{name: "from the environment", env: map[string]string{"USERAPPS_TOKEN_TTL": "15m", "USERAPPS_PUBLIC_URL": "https://ua.example.com"},
			ttl: 15 * time.Minute, public: "https://ua.example.com"},
		{name: "flags win", args: []string{"--token-ttl", "2h", "--public-url", "http://10.0.0.1:8080/base"},
			env: map[string]string{"USERAPPS_TOKEN_TTL": "15m"}, ttl: 2 * time.Hour, public: "http://10.0.0.1:8080/base"},
		{name: "bad ttl env", env: map[string]string{"USERAPPS_TOKEN_TTL": "soon"}, wantErr: "USERAPPS_TOKEN_TTL"},
		{name: "zero ttl", args: []string{"--token-ttl", "0s"}, wantErr: "--token-ttl must be positive"},
		{name: "relative public url", args: []string{"--public-url", "ua.example.com"}, wantErr: "--public-url"},
		{name: "public url with query", args: []string{"--public-url", "https://ua.example.com/?x=1"}, wantErr: "--public-url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseServe(c.args, env(c.env), io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil || cfg.TokenTTL != c.ttl || cfg.PublicURL != c.public {
				t.Fatalf("got ttl %v public %q err %v; want %v %q", cfg.TokenTTL, cfg.PublicURL, err, c.ttl, c.public)
			}
		})
	}
}
