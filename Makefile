# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
#
# Every install comes from requirements.lock (exact versions, hashes checked), so every
# workstation, CI and the packaging run the same dependency set. `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock

.PHONY: demo test lint typecheck pytest bench soak soak-ci lock system-deps clean

system-deps:
	@./scripts/system-deps.sh

# A venv built from another lock is rebuilt whole: pip cannot remove what the lock dropped.
$(STAMP): $(LOCK) pyproject.toml
	@if [ -f $(STAMP) ] && ! cmp -s $(STAMP) $(LOCK); then rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@cp $(LOCK) $(STAMP)

demo: system-deps $(STAMP)
	$(BIN)/myoperator-desktop --demo

test: system-deps $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

bench: system-deps $(STAMP)
	$(BIN)/python bench/run_all.py

# The real app for 30 minutes against the emulated service in live mode (README figures).
soak: system-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/soak.py --minutes 30

# The short variant CI runs: fails on a crash or a growing trend.
soak-ci: system-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/soak.py --minutes 3 --check

# Re-resolve every dependency (pyproject.toml, requirements/build.in and package.in) to the newest
# releases their ranges allow, with the hashes of every platform's files.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml requirements/build.in requirements/package.in --extra test \
		--universal --python-version 3.11 --generate-hashes --upgrade --quiet -o $(LOCK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
