# mlwatch developer and CI entry points. `make test` is what CI runs (.ci/run).
#
#   make test        install the local stack (Debian packages need root), start it on 127.0.0.1,
#                    check the shipped alerting configs, go vet, go test -race -tags integration ./...,
#                    then stop the services this run started
#   make unit        go test -race ./... (no stack, nothing installed)
#   make bench       Go benchmarks (integration ones included) + internal/bench/* programs, with the stack
#   make lint        gofmt -l must be empty, go vet
#   make fuzz-seeds  run only the fuzz targets' seed corpora (go test runs them as plain tests too)
#   make stack-start / stack-stop / stack-status / stack-env   the shared dev stack (scripts/teststack.sh)
#   make check-alerting-config   promtool/amtool checks of alerting/config/**

SHELL := /bin/bash
GO ?= go
export GO

GOFILES = $(shell find . -name '*.go' -not -path './.venv/*' -not -path './.cache/*' -not -path './.stack/*' -not -path './.git/*')

.PHONY: test unit bench lint fuzz-seeds stack-install stack-start stack-stop stack-status stack-env check-alerting-config

test:
	scripts/with-stack.sh --install scripts/run-tests.sh

unit:
	$(GO) test -race ./...

bench:
	scripts/with-stack.sh --install scripts/run-bench.sh

lint:
	@out=$$(gofmt -l $(GOFILES)); if [[ -n "$$out" ]]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

fuzz-seeds:
	$(GO) test -race -run '^Fuzz' ./...

stack-install:
	scripts/teststack.sh install

stack-start: stack-install
	scripts/teststack.sh start

stack-stop:
	scripts/teststack.sh stop

stack-status:
	scripts/teststack.sh status

stack-env:
	@scripts/teststack.sh env

check-alerting-config: stack-install
	scripts/check-alerting-config.sh
