# unweave: `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean reproduce-huang2014

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench,nn,cluster,speech,serve]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/unweave demo --out demo_output --force
	@echo "open demo_output/index.html"

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench,nn,cluster,speech,serve,peers]"
	@command -v ffmpeg >/dev/null || echo "museval needs ffmpeg: apt-get install ffmpeg"
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) demo_output .pytest_cache

# Huang et al. (2014/2015) on MIR-1K under their protocol: train drnn-huang on the singers
# abjones and amy (about 2.5 hours on 2 CPU cores), then print the GNSDR/GSIR/GSAR table.
reproduce-huang2014: $(STAMP)
	@test -n "$(DATA)" || { echo "usage: make reproduce-huang2014 DATA=~/corpora/mir1k"; exit 2; }
	$(PY) benchmarks/bench_huang2014.py $(DATA)/Wavfile --train-to huang2014
