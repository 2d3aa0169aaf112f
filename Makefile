# The two commands a new user needs: `make run` and `make test`.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test generate check-generate lint tidy-ci

run: build
	./bin/userapps serve

build:
	$(GO) build -o bin/userapps ./cmd/userapps

# The whole suite: SQLite always, Postgres too when USERAPPS_TEST_DATABASE_URL is set.
# -race needs cgo, so it is switched on only where a C compiler exists.
RACE := $(shell command -v gcc >/dev/null 2>&1 && echo -race)
test:
	CGO_ENABLED=$(if $(RACE),1,0) $(GO) test $(RACE) -count=1 ./...

generate:
	$(GO) run ./openapi/cmd/merge -in openapi/fragments -out openapi/runai.yaml
	$(GO) generate ./gen

check-generate: generate
	git diff --exit-code -- openapi/runai.yaml gen/
	@test -z "$$(git status --porcelain -- openapi/runai.yaml gen/)" || { git status --porcelain -- openapi/runai.yaml gen/; echo "untracked generated files"; exit 1; }

# gen/ is generated code: vetted by the compiler, not linted.
LINT_PKGS = $$($(GO) list ./... | grep -v '/gen$$')
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck $(LINT_PKGS)

tidy-ci:
	$(GO) mod tidy -diff
