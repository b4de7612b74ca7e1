# Everything installs into a local virtual environment on first use.
# The venv sees system site-packages so that an existing (CUDA) torch is reused, never replaced;
# only when no torch is importable do we install the CPU build torch==2.13.0.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install search test bench fuzz clean results mutate

install: $(STAMP)

# Install messages go to stderr so that `make bench` prints only JSON lines on stdout.
$(STAMP): setup.cfg pyproject.toml
	@echo "installing algebraic-nas into $(VENV) ..." >&2
	@test -x $(PY) || $(PYTHON) -m venv --system-site-packages $(VENV) >&2
	@$(PY) -m pip install -q --upgrade pip >&2
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0 >&2
	@$(PY) -m pip install -q -e ".[test]" >&2
	@touch $(STAMP)

search: $(STAMP)
	$(PY) -m algebraic_nas.search grammar=hnb201 $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

# The grammar and term-string fuzzers with N examples each (CI runs a few dozen): make fuzz N=5000
fuzz: $(STAMP)
	ALGEBRAIC_NAS_FUZZ=$(or $(N),2000) $(PY) -m pytest -q -p no:cacheprovider tests/grammar/test_fuzz.py --hypothesis-show-statistics $(ARGS)

# Every experiment's tables and figures regenerated from its committed raw data and compared byte
# for byte with the committed ones (and the READMEs' generated blocks); touches nothing.
results: $(STAMP)
	$(PY) experiments/regenerate.py $(ARGS)

# Mutation testing of the core modules with mutmut (installed on first use; not a test extra: it
# brings a terminal UI): about an hour on 2 cores; report in mutation/REPORT.md. One group:
# make mutate GROUPS=grammar (grammar, surrogate, search, strategies, evaluation)
mutate: $(STAMP)
	@$(PY) -c "import mutmut" 2>/dev/null || $(PY) -m pip install -q "mutmut>=3.8,<4" >&2
	$(PY) mutation/run.py $(GROUPS) $(ARGS)

bench: $(STAMP)
	@$(PY) -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
