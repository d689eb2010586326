#!/usr/bin/env bash
# Create .venv with CPU torch first (an unpinned torch pulls a multi-GB CUDA
# build), then ngramkit with its test extras and the example plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
for plugin in plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] && .venv/bin/python -m pip install -q -e "$plugin"
done
echo "installed: $(.venv/bin/ngramkit --version)"
