# vlpuda — common tasks. Every target is plain `go` underneath.
GO ?= go

.PHONY: all build test test-short generate check-generate bench lint fmt

all: build test

build:
	$(GO) build ./...

## test: everything CI runs (vet, unit tests, the pure-Go build, race on the parallel kernels).
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./kernels/...
	$(GO) test -count=1 -race -run 'Parallel|Race' ./kernels/...

## generate: rebuild the avo-generated assembly in kernels/.
generate:
	cd kernels/_asm && $(GO) generate ./...

## check-generate: fail when the committed assembly differs from what the generator writes.
check-generate: generate
	git diff --exit-code -- kernels/

## bench: the kernel benchmarks (time them on an idle machine).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./kernels/

## lint: formatting and vet.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	cd kernels/_asm && $(GO) vet ./...
