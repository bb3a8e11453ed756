# Portiere — see README.md. `make run` and `make test` work on a fresh
# Debian machine: they install what is missing first (scripts/bootstrap.sh).

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
GO      ?= go
export GOFLAGS := -buildvcs=false

.PHONY: run test tools build vet bench clean help

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: tools build ## fresh machine → the whole stack on this machine (Ctrl-C stops it)
	@echo "make: starting portiere dev (data in ./.portiere)"
	./bin/portiere dev

test: tools vet ## fresh machine → go vet and every test, against real PostgreSQL and Temporal
	@echo "make: running all tests (a private PostgreSQL cluster is started for the run)"
	PORTIERE_REQUIRE_TOOLS=1 $(GO) run ./internal/testenv -- $(GO) test -count=1 -timeout 20m ./...

tools: ## install missing tools and system packages (idempotent)
	@./scripts/bootstrap.sh

build: ## build ./bin/portiere
	@echo "make: building bin/portiere $(VERSION)"
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/portiere ./cmd/portiere

vet: ## go vet
	$(GO) vet ./...

bench: tools ## benchmarks (results in docs/benchmarks.md)
	PORTIERE_REQUIRE_TOOLS=1 $(GO) run ./internal/testenv -- $(GO) test -run '^$$' -bench . -benchmem ./...

clean: ## remove build outputs (keeps ./.portiere data)
	rm -f bin/portiere
