# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each installs what it needs (system packages, then the venv) by itself.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# GStreamer RTSP server for the camera simulator (runs under Debian's own python3), ffmpeg tools,
# Chromium + CJK fonts for the console's browser tests (driven by Playwright, never downloaded),
# iproute2/util-linux for the network namespace those tests run in.
SYSTEM_PACKAGES := python3 python3-venv python3-gi gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-libav ffmpeg chromium fonts-droid-fallback fonts-wqy-microhei poppler-utils iproute2 util-linux
PORT ?= 8000

.PHONY: demo test lint bench-ingest bench-storage bench-live bench-alerts bench-health bench-detect bench-scenarios bench-cluster system-deps venv clean

system-deps: $(VENV)/.system-deps
$(VENV)/.system-deps: Makefile
	@if ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); \
	fi
	@mkdir -p $(VENV) && touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml | $(VENV)/.system-deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,train,openvino]'
	# ultralytics pulls in the GUI OpenCV, which shadows the headless build: put headless back.
	$(VENV)/bin/pip uninstall -y -q opencv-python
	$(VENV)/bin/pip install -q --force-reinstall --no-deps \
		"opencv-python-headless==$$($(PY) -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
	# ONVIF device stand-in for the simulator; --no-deps because it declares the GUI OpenCV.
	$(VENV)/bin/pip install -q --no-deps 'ipycam==1.3.0'
	touch $@

demo: system-deps venv
	$(VENV)/bin/bkhub demo --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy hub storage camera_adapters web detectors

# Two workers: the tests marked `waits` (mostly sleeping through outages) on one, the rest
# one after another on the other, as before (tests/conftest.py groups them).
test: system-deps venv lint
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

bench-ingest: system-deps venv
	$(PY) bench/ingest.py 24

bench-storage: system-deps venv
	$(PY) bench/storage.py

bench-live: system-deps venv
	$(PY) bench/live.py

bench-alerts: system-deps venv
	$(PY) bench/alerts.py

bench-health: system-deps venv
	$(PY) bench/health.py 8

bench-scenarios: system-deps venv
	$(PY) bench/scenarios.py

bench-detect: system-deps venv
	$(PY) bench/detect.py 24

bench-cluster: system-deps venv
	$(PY) bench/cluster.py

clean:
	rm -rf $(VENV) data .pytest_cache
