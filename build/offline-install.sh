#!/usr/bin/env bash
# Installs the npm dependencies on a machine that reaches the npm registry but nothing else
# (this workplace, CI). Exactly three downloads are skipped, each with a real fallback:
#   - Electron's binary (ELECTRON_SKIP_BINARY_DOWNLOAD): everything below the shell runs in Node,
#     and the UI runs in Chromium through the browser host.
#   - onnxruntime-node's CUDA add-on (ONNXRUNTIME_NODE_INSTALL=skip): the CPU provider is bundled.
#   - ffmpeg-static's binary: it is an optional dependency, so its failed download drops the
#     package instead of failing the install; ffmpeg is then found via FFMPEG_PATH or PATH.
# On a machine with internet, a plain `npm ci` fetches all three.
set -euo pipefail
cd "$(dirname "$0")/.."
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
export ONNXRUNTIME_NODE_INSTALL=skip
exec npm ci --no-audit --no-fund "$@"
