# make test   lint and run every test (creates .venv and the book's JavaScript on first use)
# make book   build the HTML book into _build/html/
# make bench  run the benchmarks in bench/
# make clean  remove what the targets above build (not .venv/, node_modules/, nor the instructor's
#             labs/release/, gradebook and course secret, which `make book` creates on first use)

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
VENDOR := book/_vendor
LABS := $(notdir $(wildcard labs/source/lab*))

.PHONY: test book bench clean vendor env
.DELETE_ON_ERROR:

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A stamp per set of extras: the environment is brought up to date whenever pyproject.toml is
# newer than the last install. The test extras include the book's, so they satisfy it too.
$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[test,torch,book,labs]"
	touch $(VENV)/.stamp-book $@

$(VENV)/.stamp-book: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[book,labs]"
	touch $@

env: $(VENV)/.stamp-test

# MathJax, require.js and the ipywidgets HTML manager, served by the book itself (see _config.yml).
$(VENDOR)/public/.stamp: $(addprefix $(VENDOR)/,package.json package-lock.json copy.mjs require-config.js \
		fontawesome-config.js)
	cd $(VENDOR) && npm ci --ignore-scripts --no-audit --no-fund
	node $(VENDOR)/copy.mjs
	touch $@

vendor: $(VENDOR)/public/.stamp

# One pytest-xdist worker per CPU this process may use (nproc; xdist's `-n auto` counts the
# host's cores, even in a container allowed two), each taking whole test files, the book's tests
# or one lab's at a time (tests/conftest.py). pytest exits 5 when it collected no test: a
# failure here, said in words.
test: $(VENV)/.stamp-test vendor
	$(BIN)/ruff check $(wildcard convnb autograder tests bench labs)
	$(BIN)/python -m pytest -n $$(nproc) --dist loadfile --no-loadscope-reorder; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test" >&2; fi; exit $$status

# --all and `execute_notebooks: force` rerun every chapter: convnb may have changed even when no
# chapter did. -W with --keep-going reports every warning, then fails.
# The Labs page offers every lab's student notebook: nbgrader's generate step makes them
# (the same code as `python -m autograder release`) into book/_downloads/labs/; and the
# students' package (convnb and the checks), which _config.yml also puts at the site's root.
# Training in a chapter repeats bit for bit only on one set of BLAS kernels: where the CPU can, the
# book is built on those the shipped LeNet-5 weights were trained on (convnb.train.REPRODUCIBLE_BLAS
# says why; reproducible_environ decides, and prints nothing where it cannot).
REPRODUCIBLE_BLAS = $$($(BIN)/python -c "import convnb.train as t; \
	print(' '.join(f'{k}={v}' for k, v in t.reproducible_environ({}).items()))")

book: $(VENV)/.stamp-book vendor
	$(BIN)/python -m autograder release $(LABS) >/dev/null
	$(BIN)/python -m autograder.student_wheel book/_downloads/package >/dev/null
	$(BIN)/python -c "import matplotlib.pyplot"  # builds matplotlib's font cache outside a cell
	env $(REPRODUCIBLE_BLAS) $(BIN)/jupyter-book build . --all -W --keep-going
	@echo "The book: $(CURDIR)/_build/html/index.html"

bench: $(VENV)/.stamp-test
	$(BIN)/python -m bench

clean:
	rm -rf _build book/_downloads $(VENDOR)/public .pytest_cache .ruff_cache .hypothesis
	find . \( -path ./$(VENV) -o -name node_modules \) -prune -o -name __pycache__ -type d \
		-prune -exec rm -rf {} +
