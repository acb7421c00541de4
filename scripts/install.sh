#!/bin/sh
# The one install step, shared by the Makefile (so `make run`, `make test` and CI's `.ci/run`) and the
# Dockerfile: create the virtual environment VENV if it has no python yet, then install REQUIREMENTS
# (pinned) into it. PYTHON picks the interpreter that creates the environment (default python3).
# Usage: scripts/install.sh VENV REQUIREMENTS
set -eu
if [ "$#" -ne 2 ]; then
  echo "usage: $0 VENV REQUIREMENTS" >&2
  exit 2
fi
venv=$1
requirements=$2
test -x "$venv/bin/python" || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
