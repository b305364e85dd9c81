# The two commands a newcomer needs: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := api/graphql/graphiql/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench bench-quick lint format schema migration check-migrations clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# GraphiQL's React and GraphiQL builds, served by the API itself (no CDN).
$(ASSETS): api/graphql/graphiql/package.json api/graphql/graphiql/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix api/graphql/graphiql --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: GraphiQL will load its scripts from the unpkg CDN"; \
	fi

## Run the service on SQLite with demo data; prints a token and the GraphiQL address.
run: $(STAMP) $(ASSETS)
	$(BIN)/dnc-api demo --host $(HOST) --port $(PORT)
	$(BIN)/dnc-api serve --host $(HOST) --port $(PORT)

## Run the whole test suite, on SQLite and PostgreSQL.
test: $(STAMP) $(ASSETS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The benchmark against the raw baseline (PostgreSQL on 127.0.0.1:5432): bench/results/latest.md
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Regenerate schema.graphql from the code.
schema: $(STAMP)
	$(BIN)/python -c "from api.graphql.schema import schema_sdl; print(schema_sdl(), end='')" > schema.graphql

## Write a migration for both dialects: make migration NAME=add_something
migration: $(STAMP)
	@test -n "$(NAME)" || (echo "usage: make migration NAME=what_changed" && exit 2)
	$(BIN)/dnc-api makemigrations --name $(NAME)

check-migrations: $(STAMP)
	$(BIN)/dnc-api makemigrations --check

clean:
	rm -rf $(VENV) api/graphql/graphiql/node_modules .pytest_cache .mypy_cache .ruff_cache
