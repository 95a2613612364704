# Two commands do all the set-up: `make run` and `make test`.
# Both install what they need first (librocksdb-dev through apt).

GO ?= go
N ?= 20000

.PHONY: all deps build run test test-short fuzz chaos test-kafka kafka-start kafka-stop bench bench-processing bench-streams clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(GO) build -o bin/ ./cmd/...

# Everything in one process on the embedded broker; HTTP on 127.0.0.1:8000,
# Kafka on 127.0.0.1:9092, state in ./data.
run: deps
	$(GO) run ./cmd/wallet

# Unit, integration (embedded broker over TCP, real RocksDB, real HTTP)
# and race tests. Debian's chromium (about a minute to install) is the
# headless browser that drives the page at / (run/page_test.go); Debian's
# prometheus brings promtool, which checks the alerting rules
# (run/monitoring_test.go).
test: deps
	@./scripts/deps.sh kcat chromium prometheus
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

# A short fuzz run of the transfer decoder and validator behind the HTTP
# handler (seed corpus in api/testdata/fuzz). FUZZTIME=10m for a long one.
# The budget is a count, and minimizing a new input is capped at 5 s: Go
# minimizes every new interesting input for up to 60 s by default (our
# 64 KiB seeds take that long), and a duration budget that runs out during
# it fails the run with "context deadline exceeded" (go.dev/issue/75804).
FUZZTIME ?= 200000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPostTransfer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./api/

clean:
	rm -rf bin data

# The integration tests and a short chaos run against a real Apache Kafka
# 4.1 broker in KRaft mode, fetched from Maven Central into .kafka/ and
# started on 127.0.0.1:9093. By default secured as a managed service is:
# SASL_SSL with SCRAM-SHA-512, a test CA, and the wallet's ACLs (every
# command, test and the chaos harness connect as wallet-test, which holds
# every role's ACLs; one test writes as the API's principal and is
# refused). KAFKA_MODE=plaintext for the broker without security. Then
# leader moves on a plaintext 3-node cluster of the same jars, on ports
# 9094-9096 (scripts/kafka/cluster.sh, docs/LEADERS.md).
KAFKA_PORT ?= 9093
test-kafka: KAFKA_MODE ?= secure
KAFKA_CLUSTER = 127.0.0.1:9094,127.0.0.1:9095,127.0.0.1:9096
kafka-start: KAFKA_MODE ?= plaintext
KAFKA_ENV = $(if $(filter secure,$(KAFKA_MODE)),. ./.kafka/secure/env &&)
test-kafka: deps
	@./scripts/deps.sh kcat
	./scripts/kafka/start.sh $(KAFKA_PORT) $(KAFKA_MODE)
	$(KAFKA_ENV) KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) $(GO) test -count=1 -timeout 20m ./run/; \
		status=$$?; ./scripts/kafka/stop.sh; exit $$status
	# A short chaos run on a fresh broker: processors killed, Kafka kept.
	./scripts/kafka/start.sh $(KAFKA_PORT) $(KAFKA_MODE)
	$(KAFKA_ENV) $(GO) run ./cmd/chaos -brokers 127.0.0.1:$(KAFKA_PORT) -n 10000 -rate 250 -failover 0; \
		status=$$?; ./scripts/kafka/stop.sh; exit $$status
	# Leader moves on a 3-node cluster (docs/LEADERS.md): the busiest
	# leader stopped gracefully, then killed, each time started again and
	# given its leaders back, under traffic.
	./scripts/kafka/cluster.sh start
	KAFKA_CLUSTER=$(KAFKA_CLUSTER) $(GO) test -count=1 -timeout 15m -run TestLeaderMoves ./run/; \
		status=$$?; ./scripts/kafka/cluster.sh stop; exit $$status

# KAFKA_MODE=secure for the secured broker of test-kafka: clients then
# need `. .kafka/secure/env` (see scripts/kafka/secure.sh).
kafka-start:
	./scripts/kafka/start.sh $(KAFKA_PORT) $(KAFKA_MODE)

kafka-stop:
	./scripts/kafka/stop.sh

# Load scenarios on the all-in-one process (embedded broker); figures in docs/BENCHMARKS.md.
bench: deps
	$(GO) run ./cmd/loadgen -embedded -n 100000 -accounts 10000
	$(GO) run ./cmd/loadgen -embedded -n 100000 -accounts 10000 -skew zipf
	$(GO) run ./cmd/loadgen -embedded -n 100000 -accounts 1000000
	$(GO) run ./cmd/loadgen -embedded -n 100000 -accounts 10000 -hot-share 50

# Processing only: 200,000 transfers preloaded into the request log, the
# processors timed from their start to zero lag (about 1 minute each);
# figures in docs/BENCHMARKS.md.
bench-processing: deps
	$(GO) run ./cmd/loadgen -processing -n 200000 -accounts 10000 -seed 1 -prefix pb
	$(GO) run ./cmd/loadgen -processing -n 200000 -accounts 1000 -seed 1 -prefix pb
	$(GO) run ./cmd/loadgen -processing -n 200000 -accounts 10000 -hot-share 50 -seed 1 -prefix pb

# The wallet against Kafka Streams, processing only (issue 20): the
# wallet's three processors written for Kafka Streams 4.1 with RocksDB
# stores (scripts/streams, built with Maven into scripts/streams/target),
# given the same preload as the wallet and checked against the same model,
# on a fresh Apache Kafka 4.1 (scripts/kafka) for every run: the three
# scenarios above, each with the wallet, Kafka Streams at_least_once and
# exactly_once_v2, N=200000, seed 1 (about 10 minutes a round;
# STREAMS_ROUNDS=2 for two; STREAMS_WARM=1 warms each broker first with
# a shorter run of the same system, about twice as long). It prints a
# table and keeps each run's JSON report; figures in docs/BENCHMARKS.md.
# Not part of `make test`.
STREAMS_ROUNDS ?= 1
STREAMS_WARM ?= 0
bench-streams: deps
	@./scripts/deps.sh kcat jq maven openjdk-17-jdk-headless
	ROUNDS=$(STREAMS_ROUNDS) WARM=$(STREAMS_WARM) ./scripts/streams/bench.sh

# Chaos: real processes, kill -9 of processors and the broker, then a
# balance check. `make chaos` runs a short one (about 3 minutes: it sends at
# 250/s so that processors are killed while they work); with N above
# 100,000 (`make chaos N=1000000`, the long one) it sends as fast as the API
# takes them and waits up to 30 minutes for the pipeline to drain.
CHAOS_FLAGS ?= $(if $(shell [ $(N) -gt 100000 ] && echo long),-drain-timeout 30m -failover 0,-rate 250)
chaos: deps
	$(GO) run ./cmd/chaos -n $(N) $(CHAOS_FLAGS)
