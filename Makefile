# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
#
# Every install comes from requirements.lock (exact versions, hashes checked), so every
# workstation, CI and the packaging run the same dependency set. `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock

.PHONY: demo test lint typecheck pytest bench soak soak-ci lock system-deps clean package package-test

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

# The one-folder bundle (PyInstaller, from the locked venv) and the .deb, each proved: every
# library loads (ldd), the bundle's own --self-test passes (a sync, a recording played to
# its end, the hand-over to a running app), the desktop entry and the AppStream metadata
# validate. Then the sizes and the start-up time, bundle against source.
# DEB_COMPRESSION="gzip -1" (CI) builds the .deb in seconds instead of a minute and a half.
DEB_COMPRESSION ?= xz
BUNDLE := dist/myoperator-desktop
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
DEB = dist/myoperator-desktop_$(VERSION)_$(shell dpkg --print-architecture).deb

package: system-deps $(STAMP)
	@./scripts/system-deps.sh packaging
	rm -rf $(BUNDLE) build/pyinstaller
	$(BIN)/pyinstaller --noconfirm --log-level ERROR --distpath dist --workpath build/pyinstaller \
		packaging/myoperator-desktop.spec
	$(BIN)/python packaging/check_bundle.py $(BUNDLE)
	@# Qt's and FFmpeg's chatter kept aside, shown when a check fails (a crash says why there).
	env -u DISPLAY QT_QPA_PLATFORM=offscreen $(BUNDLE)/myoperator-desktop --self-test \
		2>build/self-test.stderr || { tail -n 40 build/self-test.stderr; exit 1; }
	desktop-file-validate packaging/linux/myoperator-desktop.desktop
	appstreamcli validate --no-net packaging/linux/com.myoperator.Desktop.metainfo.xml
	$(BIN)/python packaging/build_deb.py $(BUNDLE) dist \
		--compression $(word 1,$(DEB_COMPRESSION)) $(if $(word 2,$(DEB_COMPRESSION)),--level $(patsubst -%,%,$(word 2,$(DEB_COMPRESSION))))
	@echo "package: bundle $$(du -sm $(BUNDLE) | cut -f1) MB in $(BUNDLE)/, $(notdir $(DEB)) $$(( $$(stat -c %s $(DEB)) / 1048576 )) MB"
	$(BIN)/python packaging/startup_time.py $(BUNDLE)/myoperator-desktop

# Installs the .deb with apt-get (root or passwordless sudo), checks the tel:/callto:
# registration, opens links with xdg-open into the installed app under Xvfb, then purges.
package-test: system-deps $(STAMP)
	@./scripts/system-deps.sh packaging
	@test -f $(DEB) || { echo "package-test: $(DEB) is missing: run make package first" >&2; exit 1; }
	$(BIN)/python packaging/package_test.py $(DEB)

# Re-resolve every dependency (pyproject.toml, requirements/build.in and package.in) to the newest
# releases their ranges allow, with the hashes of every platform's files.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml requirements/build.in requirements/package.in --extra test \
		--universal --python-version 3.11 --generate-hashes --upgrade --quiet -o $(LOCK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
