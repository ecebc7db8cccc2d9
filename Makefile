# shift — make help lists the targets. CI runs .ci/run, which calls these.

SHELL     := /bin/bash
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin:$(HOME)/.local/go/bin

.PHONY: help deps build test e2e vet bench demo demo-batch clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

deps: ## install what the build and the tests need (Go, OpenSSH server, sudo, test users); idempotent
	@hack/deps.sh

build: ## build bin/shift and the Windows agent binary bin/shift-windows-amd64.exe
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/shift ./cmd/shift
	GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/shift-windows-amd64.exe ./cmd/shift

test: deps ## set up, then run every test (unit, integration against real sshd, WinRM, QEMU, Chromium)
	$(GO) vet ./...
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/shift   # the Windows agent must always build
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) test -race -count=1 -timeout 25m ./...

e2e: deps ## only the end-to-end test: a running Debian VM (PostgreSQL, nginx) migrated into the local cloud (make test runs it too)
	$(GO) test -count=1 -timeout 25m -v ./e2e/

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: deps ## run the benchmarks (6 runs each); results and medians in bench.out, see BENCHMARKS.md
	hack/bench.sh

demo: deps build ## set up, then open the wizard on the built-in lab (shift --lab)
	bin/shift --lab

demo-batch: deps build ## set up, start the lab and discover it without the wizard (hack/demo.sh)
	hack/demo.sh

clean: ## remove build output
	rm -rf $(BIN) bench.out
