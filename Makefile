# Quick start: `make run` (the main job) and `make test` (the whole suite). Both set up what they need
# first and are idempotent: a virtual environment with vfatcheck and its extras, and, as root, the
# Debian tools the parser back-ends drive. As a non-root user the apt step is skipped with a list of
# what is missing.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# One package a line, so that back-ends added side by side do not touch the same line.
APT_PACKAGES := \
	7zip \
	bc \
	bison \
	busybox-static \
	chromium \
	dosbox \
	dosfstools \
	fatcat \
	fatsort \
	flex \
	fusefat \
	gcc \
	grub-common \
	libc6-dev \
	libelf-dev \
	libssl-dev \
	linux-image-amd64 \
	linux-source-6.1 \
	mtools \
	nodejs \
	npm \
	patch \
	qemu-system-x86 \
	sleuthkit \
	testdisk \
	u-boot-qemu \
	user-mode-linux \
	xxd \
	xz-utils

.PHONY: setup deps venv run test lint clean

setup: deps venv

# A package counts as present when it is installed or provided by one that is (NodeSource's nodejs
# provides npm, and conflicts with Debian's).
deps:
	@have=$$(dpkg-query -W -f='$${db:Status-Abbrev}|$${Package}, $${Provides}\n' 2>/dev/null | sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/ *(.*//; s/^ *//'); \
	missing=$$(for p in $(APT_PACKAGES); do echo "$$have" | grep -qx "$$p" || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "debian tools: all present"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "not root, skipping apt; missing Debian tools:" $$missing; \
	  echo "  (their back-ends report unavailable; install with: sudo apt-get install $$missing)"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	@touch $@

run: setup
	@mkdir -p build
	$(VENV)/bin/vfatcheck run --json build/report.json --junit build/report.xml --html build/report.html --timings

test: setup
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check vfatcheck tests bench
	$(VENV)/bin/ruff format --check vfatcheck tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
