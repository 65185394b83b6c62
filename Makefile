# capstan: a GitOps operator for Kubernetes. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.tools/bin:$(PATH)
export HELM_BINARY ?= $(CURDIR)/.tools/bin/helm

##@ General
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2} /^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)}' $(MAKEFILE_LIST)

##@ Setup
setup: ## Install everything a fresh machine needs (idempotent): system packages, npm deps, helm/kubectl, control plane binaries, test servers (OCI registry)
	@scripts/setup.sh

##@ Development
generate: ## Regenerate generated/, crds/ and helm-chart/crds/ from schemas/
	npx tsx scripts/generate.ts

build: ## Type-check and compile to dist/
	npx tsc -p tsconfig.json

lint: ## ESLint and Prettier
	npx eslint .
	npx prettier --check .

check-generated: generate ## Fail when generated files are stale
	@git diff --exit-code -- generated crds helm-chart/crds || (echo "generated files are stale: run make generate and commit" >&2; exit 1)

##@ Test
test: setup ## Everything CI runs: generated files current, type-check, lint, unit and end-to-end tests
	$(MAKE) check-generated
	npx tsc --noEmit -p tsconfig.json
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-e2e

# Node 20's --test takes no globs: the files are listed with find.
test-unit: ## Unit tests (node's test runner)
	node --import tsx --test --test-reporter=spec $$(find operator scripts -name '*.test.ts' | sort)

test-e2e: ## End-to-end tests against a real local control plane and git daemon (E2E_FILTER=name to select suites)
	node --import tsx --test --test-reporter=spec e2e/harness/harness.e2e.ts
	node --import tsx e2e/run.ts

##@ Benchmark
bench: setup ## Benchmarks P1-P8 against same-run baselines (quick, ~10 min on 2 cores; BENCH_SCALE=large for the full sizes); writes bench/results/<date>.json
	node --import tsx bench/run.ts

##@ Run
run: setup ## Start the local control plane (unless KUBECONFIG is set), serve examples/ from git, run capstan
	node --import tsx e2e/demo.ts

clean: ## Remove build output and local tools (the control plane binary cache stays)
	rm -rf dist .tools

.PHONY: help setup generate build lint check-generated test test-unit test-e2e bench run clean
