# The quick start: `make test` runs everything CI runs.
.PHONY: test setup fuzz serve

test:
	scripts/test

setup:
	scripts/setup

fuzz:
	scripts/fuzz

serve:
	go run ./cmd/surge serve
