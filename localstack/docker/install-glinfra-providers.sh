#!/bin/sh
# LocalStack init hook (stage BOOT: runs in the container before LocalStack starts).
# Installs glinfra's provider package, mounted at /opt/glinfra/localstack by compose.yaml,
# into the runtime's own venv, so LocalStack finds our eks/rds/elasticache/kafka providers.
# UNTESTED: no Docker engine exists where this project's emulator setup was built.
set -eu
python=/opt/code/localstack/.venv/bin/python
[ -x "$python" ] || python="$(command -v python3)"
"$python" -m pip install --quiet --no-deps -e /opt/glinfra/localstack
