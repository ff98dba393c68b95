# Targets for building, testing and trying Indelible. Run "make help".

GO       ?= go
BIN      ?= ./indelible
FUZZTIME ?= 10s
DEMO_DIR ?= ./demo-data

ADDR     ?= 127.0.0.1:8080
DATA_DIR ?= ./data

.PHONY: help build test bench fuzz demo serve clean

help:
	@echo "make build   build the indelible binary ($(BIN))"
	@echo "make test    go vet, gofmt check, every test with the race detector, and the SQLite tests without cgo"
	@echo "make bench   run every benchmark"
	@echo "make fuzz    run every fuzz target for $(FUZZTIME) each"
	@echo "make serve   build and run the server on $(DATA_DIR), listening on $(ADDR)"
	@echo "make demo    append testdata/sample-events.ndjson to $(DEMO_DIR) and verify it"
	@echo "make clean   remove the binary and $(DEMO_DIR)"

build:
	$(GO) build -o $(BIN) ./cmd/indelible

test:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) test -race -count=1 ./...
	# The packages on SQLite again, and the binary end to end, on the
	# pure-Go driver of builds without cgo.
	CGO_ENABLED=0 $(GO) test -count=1 ./internal/store/... ./internal/ledger/ ./internal/index/ ./internal/integrity/
	CGO_ENABLED=0 $(GO) test -count=1 -run 'TestServeEndToEnd|TestVerifyChecksQueryIndex' ./cmd/indelible/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Every func FuzzXxx in a _test.go file, run one at a time (go test -fuzz
# takes one target per package).
fuzz:
	@set -e; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname "$$file"); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			echo "$(GO) test -run='^$$' -fuzz='^$$target\$$' -fuzztime=$(FUZZTIME) $$dir"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) "$$dir"; \
		done; \
	done

demo: build
	rm -rf $(DEMO_DIR)
	$(BIN) append --data-dir $(DEMO_DIR) --log acme --checkpoint $(DEMO_DIR)/acme.checkpoint testdata/sample-events.ndjson
	$(BIN) verify --data-dir $(DEMO_DIR) --trusted $(DEMO_DIR)/acme.checkpoint

serve: build
	$(BIN) serve --data-dir $(DATA_DIR) --addr $(ADDR)

clean:
	rm -rf $(BIN) $(DEMO_DIR)
