# The two commands a newcomer needs (see README):
#   make run    set up everything, then start recorder
#   make test   set up everything (with the test tools), then run the whole test suite
.PHONY: run setup setup-test test lint fmt bench

ARGS ?=

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

run: setup
	target/release/recorder $(ARGS)

test: setup-test
	cargo test --release --locked

lint:
	cargo fmt --check
	cargo clippy --release --all-targets --locked -- -D warnings

# Latency, throughput, audio path and memory side by side with faster-whisper (README "Speed");
# the main speed levers included (ARGS=--quick skips them, ARGS=--levers adds the slow ones).
# Results: bench/results.md.
bench: setup-test
	scripts/bench.sh $(ARGS)
