# dialpad-etl: Dialpad call history into ClickHouse and Grafana.
#
#   make test   install what the tests need (ClickHouse, on Debian/Ubuntu as
#               root), then vet and run every test with the race detector
#   make demo   run a simulated Dialpad and a private ClickHouse, backfill
#               14 days and print the department cards and agent activity
#   make bench  measure API budget use, throughput, memory and dashboards

GO        ?= go
BIN       := bin/dialpad-etl
FUZZTIME  ?= 5s

.PHONY: all build test vet deps fuzz demo bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dialpad-etl

# deps installs Debian's clickhouse-server when no server is on this machine
# and none is named by CLICKHOUSE_ADDR.
deps:
	@if [ -z "$$CLICKHOUSE_ADDR" ] && ! command -v clickhouse-server >/dev/null 2>&1 \
	    && [ ! -x /usr/sbin/clickhouse-server ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing clickhouse-server (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; \
	  else \
	    echo "clickhouse-server is missing: install it (apt-get install clickhouse-server) or set CLICKHOUSE_ADDR" >&2; exit 1; \
	  fi; \
	fi

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz

fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' etl); do \
	  pkg=./$$(dirname $$f); \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
	    echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	    $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
