# dialpad-etl: Dialpad call history into ClickHouse and Grafana.
#
#   make test   install what the tests need (ClickHouse 18.16 on Debian/Ubuntu
#               as root, a current ClickHouse from npm, Chromium for the
#               HTML report's browser test, and ZooKeeper for the cluster
#               test), then vet and run every test with the race detector
#   make test-short  the fast tier: every test that needs no ClickHouse,
#               Node, Chromium or ZooKeeper (the others skip), installing
#               nothing and starting none of them
#   make demo   run a simulated Dialpad and a private ClickHouse, backfill
#               14 days, print the department cards and agent activity, and
#               leave the job running, receiving the simulator's live events
#   make bench  measure API budget use, throughput, memory and dashboards

SHELL     := /bin/bash
GO        ?= go
BIN       := bin/dialpad-etl
# Fuzzing runs a count of inputs, not a duration: with a duration, Go
# 1.26's fuzzing coordinator can fail a target with "context deadline
# exceeded" as the time runs out (golang/go#75804, fixed in Go 1.27).
FUZZTIME  ?= 100000x

.PHONY: all build test test-short vet deps deps-current deps-chromium deps-zookeeper fuzz demo demo-stop bench clean

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

# The current ClickHouse the tests also run every statement on: chdb
# (ClickHouse 26.7 as a library) from the npm registry, in a cache folder
# outside the repository; internal/testkit/chdb finds it there.
CHDB_VERSION := 3.4.0
CHDB_CACHE   := $${XDG_CACHE_HOME:-$$HOME/.cache}/dialpad-etl/chdb

deps-current:
	@dir="$(CHDB_CACHE)"; \
	if [ -z "$$CHDB_MODULES" ] && ! grep -qs '"version": "$(CHDB_VERSION)"' "$$dir/node_modules/chdb/package.json"; then \
	  if ! command -v npm >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing nodejs and npm (apt-get)"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	    else \
	      echo "npm is missing: install Node.js 18 or later (apt-get install nodejs npm) for the current ClickHouse of the tests" >&2; exit 1; \
	    fi; \
	  fi; \
	  echo "installing chdb $(CHDB_VERSION), ClickHouse 26.7 (npm, into $$dir)"; \
	  mkdir -p "$$dir" && npm install --prefix "$$dir" --no-audit --no-fund --loglevel=error chdb@$(CHDB_VERSION) >/dev/null; \
	fi

# deps-chromium installs Debian's chromium when no Chromium or Chrome is on
# this machine: the HTML report's test opens the report in it, headless
# (without one the test is skipped, and fails when CI is set).
deps-chromium:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
	    && ! command -v google-chrome >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get), for the HTML report's browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	      || echo "could not install chromium: the HTML report's browser test is skipped (and fails when CI is set)" >&2; \
	  else \
	    echo "chromium is missing: install it (apt-get install chromium) or the HTML report's browser test is skipped" >&2; \
	  fi; \
	fi

# deps-zookeeper installs Debian's zookeeper (and Java) when missing: the
# cluster test runs 2 shards x 2 replicas of ClickHouse 18.16 on it
# (without it the test is skipped, and fails when CI is set).
deps-zookeeper:
	@if [ ! -f /usr/share/java/zookeeper.jar ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing zookeeper (apt-get), for the cluster test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zookeeper >/dev/null \
	      || echo "could not install zookeeper: the cluster test is skipped (and fails when CI is set)" >&2; \
	  else \
	    echo "zookeeper is missing: install it (apt-get install zookeeper) or the cluster test is skipped" >&2; \
	  fi; \
	fi

vet:
	$(GO) vet ./...

# The slowest package (cmd/dialpad-etl) takes about 5 minutes on 2 cores;
# the default 10 minutes of go test is too close.
TEST_TIMEOUT ?= 20m
# Packages tested at once, two a core: most of a package's time is spent
# waiting (on ClickHouse, a lease settling, a process), so go test's
# default of one a core leaves a third of the CPU idle.
TEST_PACKAGES ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))
# The tests' temporary files, ClickHouse's data among them, go to RAM
# (/dev/shm) when it has 4 GB free and allows programs to run, unless
# TMPDIR is set: the tests make and drop databases by the hundred, and on
# ext4 the kernel's search for free inodes for their files took a third
# of the suite's CPU time. Go's own build files stay where they were.
TEST_TMPDIR ?= $(shell if [ -n "$$TMPDIR" ]; then echo "$$TMPDIR"; \
	elif [ -d /dev/shm ] && [ -w /dev/shm ] && ! grep -qs '^[^ ]* /dev/shm [^ ]* [^ ]*noexec' /proc/mounts \
	  && [ "$$(df -Pk /dev/shm | awk 'NR == 2 { print $$4 }')" -gt 4000000 ]; then echo /dev/shm; \
	else echo /tmp; fi)

test: deps deps-current deps-chromium deps-zookeeper vet
	GOTMPDIR="$${GOTMPDIR:-$${TMPDIR:-/tmp}}" TMPDIR=$(TEST_TMPDIR) \
	  $(GO) test -race -count=1 -p $(TEST_PACKAGES) -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz

test-short:
	$(GO) test -short -count=1 -timeout 5m ./...

fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' etl); do \
	  pkg=./$$(dirname $$f); \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
	    echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	    $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The demo: a private ClickHouse and a live simulated Dialpad in .demo/,
# left running so that the tables can be queried afterwards (make
# demo-stop ends them). Running it again reuses them and loads only what
# is new.
DEMO_DIR      := .demo
DEMO_CH_PORT  ?= 19000
DEMO_SIM_ADDR ?= 127.0.0.1:18089
DEMO_ZONE     ?= America/New_York
DEMO_ETL_ADDR ?= 127.0.0.1:19108
DEMO_ENV = DIALPAD_BASE_URL=http://$(DEMO_SIM_ADDR) \
	DIALPAD_TARGETS=department:4869792674824192,department:5506572454860966,callcenter:7443312741218595 \
	DIALPAD_RATE_LIMIT=20 CLICKHOUSE_ADDR=127.0.0.1:$(DEMO_CH_PORT) \
	CLICKHOUSE_DATABASE=dialpad ETL_TIMEZONE=$(DEMO_ZONE) \
	DIALPAD_WEBHOOK_SECRET=demo-webhook-secret-0123456789 DIALPAD_EVENTS=websocket ETL_HTTP_ADDR=$(DEMO_ETL_ADDR)

demo: deps build
	@mkdir -p $(DEMO_DIR)
	@$(GO) build -o bin/clickhouse-dev ./cmd/clickhouse-dev
	@bin/clickhouse-dev start --dir $(DEMO_DIR)/clickhouse --port $(DEMO_CH_PORT)
	@if ! (exec 3<>/dev/tcp/$(subst :,/,$(DEMO_SIM_ADDR))) 2>/dev/null; then \
	  setsid nohup $(BIN) simulate --addr $(DEMO_SIM_ADDR) --live --always-open --calls-per-day 1200 --events-subscriptions --events-backlog 72h > $(DEMO_DIR)/simulator.log 2>&1 & \
	  echo $$! > $(DEMO_DIR)/simulator.pid; \
	  for i in $$(seq 50); do (exec 3<>/dev/tcp/$(subst :,/,$(DEMO_SIM_ADDR))) 2>/dev/null && break; sleep 0.1; done; \
	  echo "simulated Dialpad started at http://$(DEMO_SIM_ADDR)"; \
	else echo "simulated Dialpad already answers at http://$(DEMO_SIM_ADDR)"; fi
	@$(DEMO_ENV) $(BIN) migrate
	@$(DEMO_ENV) $(BIN) backfill --from "$$(TZ=$(DEMO_ZONE) date -d '13 days ago' +%F)"
	@$(DEMO_ENV) $(BIN) report
	@echo "reconciling the last week with the simulated Dialpad's records export (it takes the export about 10 s)"
	@$(DEMO_ENV) $(BIN) reconcile
	@$(DEMO_ENV) $(BIN) dispositions --from "$$(TZ=$(DEMO_ZONE) date -d '13 days ago' +%F)"
	@$(DEMO_ENV) $(BIN) report --html $(DEMO_DIR)/report.html --period week
	@# Real time: the job stays up, connects out to the simulator's
	@# websocket (it sets up the websocket and its subscriptions itself)
	@# and receives the events pushed over it: no port opened to it.
	@if ! (exec 3<>/dev/tcp/$(subst :,/,$(DEMO_ETL_ADDR))) 2>/dev/null; then \
	  $(DEMO_ENV) ETL_HOURLY_SCHEDULE='*/10 * * * *' setsid nohup $(BIN) schedule > $(DEMO_DIR)/schedule.log 2>&1 & \
	  echo $$! > $(DEMO_DIR)/schedule.pid; \
	  for i in $$(seq 100); do (exec 3<>/dev/tcp/$(subst :,/,$(DEMO_ETL_ADDR))) 2>/dev/null && break; sleep 0.1; done; \
	fi
	@echo "waiting up to two minutes for the first live call event (the simulated company is open around the clock, some three calls a minute)"
	@for i in $$(seq 120); do $(DEMO_ENV) $(BIN) webhooks status 2>/dev/null | grep -Eq '^last call event .*\([0-9.]+m?s ago\)' && break; sleep 1; done
	@$(DEMO_ENV) $(BIN) webhooks status
	@echo
	@echo "Query further:  clickhouse-client --port $(DEMO_CH_PORT) --database dialpad"
	@echo "  e.g. SELECT day, agent_name, total_calls, completed_calls FROM agent_daily FINAL ORDER BY day DESC LIMIT 20"
	@echo "  live: SELECT call_id, state, waiting_since, agent_name FROM live_calls FINAL WHERE ended = 0 AND expires_at > now()"
	@echo "The job keeps loading and receiving events (log: $(DEMO_DIR)/schedule.log, metrics: http://$(DEMO_ETL_ADDR)/metrics)"
	@echo "Stop the demo:  make demo-stop"

# The benchmarks: a simulated Dialpad in a process of its own and a private
# ClickHouse (data in .bench/, removed afterwards); prints one markdown
# table (docs/benchmarks.md). Takes 6 to 10 minutes, the recompute step
# (a call center's month loaded, then its events received) 5 to 9 more,
# and the export step (a year of one target by export and by list) about 5.
bench: deps deps-zookeeper build
	$(GO) run ./cmd/bench

demo-stop:
	@if [ -f $(DEMO_DIR)/schedule.pid ]; then kill $$(cat $(DEMO_DIR)/schedule.pid) 2>/dev/null || true; rm -f $(DEMO_DIR)/schedule.pid; echo "job stopped"; fi
	@if [ -f $(DEMO_DIR)/simulator.pid ]; then kill $$(cat $(DEMO_DIR)/simulator.pid) 2>/dev/null || true; rm -f $(DEMO_DIR)/simulator.pid; echo "simulator stopped"; fi
	@$(GO) run ./cmd/clickhouse-dev stop --dir $(DEMO_DIR)/clickhouse

clean:
	rm -rf bin
