#!/usr/bin/env bash
# Creates (or completes) the peers virtualenv used by `python -m bench`.
#
# The peers (PyTorch, JAX, ONNX Runtime) are benchmark comparisons only: they never go into the
# project's requirements. They live in their own venv so the project venv stays small.
#
#   bench/setup_peers.sh            # idempotent: installs only what is missing
#   NETC_PEERS_VENV=/path bench/setup_peers.sh
#   WITH_TINYGRAD=1 bench/setup_peers.sh   # also install tinygrad (optional peer)
#
# torch is pinned to 2.13.0: that release is a local CPU wheel on the dev machines (pip's
# find-links); any other version would pull gigabytes of CUDA wheels.
# torchvision (the zoo benchmark's networks, `--only zoo`) is pinned to 0.28.0 and installed with
# --no-deps: newer releases, and its own dependency pins, pull another torch. Its C++ ops do not
# load with the local CPU torch build; bench/zoo_torch.py imports it anyway (its model
# definitions are plain Python).
set -euo pipefail

VENV="${NETC_PEERS_VENV:-$HOME/.cache/netc-peers/venv}"
PY="${PYTHON:-python3}"
TORCH_VERSION="2.13.0"
TORCHVISION_VERSION="0.28.0"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating peers venv at $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi

pkgs=(numpy "torch==$TORCH_VERSION" jax jaxlib onnx onnxscript onnxruntime pillow)
if [[ "${WITH_TINYGRAD:-0}" == 1 ]]; then
  pkgs+=(tinygrad)
fi

# pip is itself idempotent, but skip it entirely when everything already imports at the right
# torch version, so a re-run costs a second rather than an index round trip.
if "$VENV/bin/python" - "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
import jax, numpy, onnx, onnxruntime, onnxscript, PIL, torch  # noqa: F401
same = torch.__version__.split("+")[0] == sys.argv[1]
sys.exit(0 if same and version("torchvision").split("+")[0] == sys.argv[2] else 1)
PYEOF
then
  if [[ "${WITH_TINYGRAD:-0}" != 1 ]] || "$VENV/bin/python" -c "import tinygrad" 2>/dev/null; then
    echo "peers venv $VENV is complete"
    exit 0
  fi
fi

"$VENV/bin/pip" install -q "${pkgs[@]}"
"$VENV/bin/pip" install -q --no-deps "torchvision==$TORCHVISION_VERSION"
"$VENV/bin/python" -c "import torch, jax, onnxruntime; print('torch', torch.__version__, \
'| jax', jax.__version__, '| onnxruntime', onnxruntime.__version__)"
echo "peers venv ready: $VENV/bin/python"
