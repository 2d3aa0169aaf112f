# The two commands a new user needs: `make run` and `make test`.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test generate check-generate lint tidy-ci spec-lint spec-diff fuzz contract npm-deps

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

# npm tools (Prism, Spectral), installed from the lockfile when missing
# (run npm ci yourself after a lockfile change; CI always does).
npm-deps:
	@test -x node_modules/.bin/spectral -a -x node_modules/.bin/prism || npm ci --no-audit --no-fund

# Lint the merged spec with Spectral and the explicit ruleset in .spectral.yaml.
spec-lint: npm-deps
	node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=warn openapi/runai.yaml

# API changes since BASE_REF (default origin/main, else main; see .ci/spec-diff.sh);
# fails on a breaking change not listed in openapi/breaking-changes-ack.yaml.
spec-diff:
	BASE_REF=$(BASE_REF) .ci/spec-diff.sh

# Every Fuzz target in server/ for FUZZTIME each (seeds: server/testdata/fuzz).
# A crash, a 5xx or an off-spec response fails the run.
FUZZTIME ?= 20s
fuzz:
	@set -e; for t in $$($(GO) test -list '^Fuzz' ./server | grep '^Fuzz'); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test ./server -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME); \
	done

# Black-box contract suite (cmd/contract, a second binary) against a running
# service: make contract BASE_URL=http://127.0.0.1:8080. Tokens come from
# CONTRACT_TOKEN, CONTRACT_OTHER_TOKEN, CONTRACT_ADMIN_TOKEN (and optionally
# CONTRACT_EXPIRED_TOKEN); when they are unset and BASE_URL is local, they are
# minted with `userapps token --data-dir $(DATA_DIR)`, the service's data dir.
# With PRISM=1, BASE_URL is a Prism proxy in front of DIRECT_URL (.ci/contract.sh).
BASE_URL ?= http://127.0.0.1:8080
DATA_DIR ?= ./data
contract: build
	$(GO) build -o bin/contract ./cmd/contract
	@set -e; \
	if [ -z "$$CONTRACT_TOKEN" ]; then \
		case "$(BASE_URL)" in http://127.0.0.1:*|http://localhost:*|http://\[::1\]:*) ;; \
		*) echo "contract: $(BASE_URL) is not local: set CONTRACT_TOKEN, CONTRACT_OTHER_TOKEN and CONTRACT_ADMIN_TOKEN" >&2; exit 2;; esac; \
		key="$${USERAPPS_SIGNING_KEY_FILE:-$(DATA_DIR)/signing-key.pem}"; \
		test -f "$$key" || { echo "contract: no signing key at $$key: set DATA_DIR to the service's --data-dir, or the CONTRACT_* tokens" >&2; exit 2; }; \
		run="contract-$$(date +%s)-$$$$"; \
		export CONTRACT_TOKEN=$$(./bin/userapps token --data-dir "$(DATA_DIR)" --user "$$run-a@example.com"); \
		export CONTRACT_OTHER_TOKEN=$$(./bin/userapps token --data-dir "$(DATA_DIR)" --user "$$run-b@example.com"); \
		export CONTRACT_ADMIN_TOKEN=$$(./bin/userapps token --data-dir "$(DATA_DIR)" --user "$$run-admin@example.com" --admin); \
		export CONTRACT_SIGNING_KEY_FILE="$$key" CONTRACT_USER="$$run-a@example.com" CONTRACT_ISSUER="$${USERAPPS_ISSUER:-userapps}"; \
	fi; \
	./bin/contract --base-url "$(BASE_URL)" $(if $(DIRECT_URL),--direct-url "$(DIRECT_URL)") $(if $(PRISM),--prism)
