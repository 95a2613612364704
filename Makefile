# Two commands do all the set-up: `make run` and `make test`.
# Both install what they need first (librocksdb-dev through apt).

GO ?= go
N ?= 20000

.PHONY: all deps build run test test-short fuzz chaos test-kafka kafka-start kafka-stop bench clean

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
# and race tests.
test: deps
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

clean:
	rm -rf bin data
