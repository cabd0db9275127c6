#!/usr/bin/env bash
# Install the RecBole peer (RecBole 1.2.1) into its own virtual environment.
#
#     bash bench/peers/install/recbole.sh bench/.venvs/recbole
#
# RecBole 1.2.1 (2023) predates the current numpy/scipy/setuptools; the pins keep it running on
# Python 3.11 (each checked against RecBole's source):
#   * numpy<2        recbole.config.Config.compatibility_settings aliases np.float_/np.complex_/np.unicode_,
#                    which numpy 2 removed (AttributeError when building any Config).
#   * scipy<1.12     LightGCN/NGCF build their adjacency with dok_matrix._update, removed in scipy 1.12.
#   * pandas<2.3     stays on the 2.2 series RecBole's loader (inplace fillna on column views) still works with.
#   * setuptools>=77.0.3,<81   torch 2.15 requires >=77.0.3; ray 2.6.3 (RecBole requires ray<=2.6.3,
#                    cp311 wheels exist) imports pkg_resources, removed in setuptools 81.
#   * colorlog==4.7.2, colorama==0.4.4   RecBole's own exact pins.
#   * thop, tensorboard, texttable, plotly, psutil, tabulate, ray: imported by recbole.utils /
#     recbole.trainer / recbole.quick_start (all in RecBole's requirements; listed so the set is explicit).
# torch is pinned to graphrec's version (torch==2.15.0) so both sides of the benchmark run the same
# kernels and pip does not resolve another torch. The PyPI wheel is the CUDA build: a fresh install
# downloads ~3.2 GB (torch 0.5, nvidia-* 2.3, triton 0.3) and takes 6 GB on disk. The registry's
# responses are not kept in pip's HTTP cache here, so every fresh venv downloads them again
# (about 2 minutes on this network); re-running on an existing venv takes ~10 s.
# The runner (bench/peers/run_recbole.py) sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, because
# RecBole's torch.load of its own checkpoints predates torch's weights_only=True default.
#
# Re-runnable: an existing folder is reused, and "$1/.installed" is written only at the end.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh" "$@"   # checks $1, sets VENV and PY, creates the venv
TORCH_VERSION="${TORCH_VERSION:-2.15.0}"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install --upgrade pip

"${PIP[@]}" install \
    "torch==${TORCH_VERSION}" \
    "recbole==1.2.1" \
    "numpy<2" \
    "pandas<2.3" \
    "scipy<1.12" \
    "setuptools>=77.0.3,<81" \
    "ray<=2.6.3,>=1.13.0" \
    "thop" \
    "tensorboard" \
    "texttable" \
    "colorlog==4.7.2" \
    "colorama==0.4.4" \
    "plotly" \
    "psutil" \
    "tabulate" \
    "scikit-learn" \
    "pyyaml" \
    "tqdm"

# Fail here, not in the first benchmark run, if an import RecBole needs for the graph models is missing.
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "$VENV/bin/python" - <<'EOF'
import recbole, torch, numpy
from recbole.config import Config  # noqa: F401
from recbole.data import create_dataset, data_preparation  # noqa: F401
from recbole.model.general_recommender import BPR, LightGCN, NGCF  # noqa: F401
from recbole.trainer import Trainer  # noqa: F401
from recbole.utils import get_model, get_trainer, init_seed  # noqa: F401
print(f"recbole {recbole.__version__}, torch {torch.__version__}, numpy {numpy.__version__}")
EOF
"${PIP[@]}" check

touch "$VENV/.installed"
