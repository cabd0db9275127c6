#!/usr/bin/env bash
# Install LightFM 1.17 into its own virtual environment (bench peer; never imports graphrec).
#
#   bash bench/peers/install/lightfm.sh bench/.venvs/lightfm
#
# LightFM 1.17 ships only an sdist whose setup.py sets `__builtins__.__LIGHTFM_SETUP__`, which breaks
# under PEP 517 builds ("'dict' object has no attribute '__LIGHTFM_SETUP__'"), so it is built the
# legacy way (--no-use-pep517, without build isolation) against numpy<2 (1.26.4) and setuptools<81 installed
# first. pip 25.3 removed --no-use-pep517, hence pip<25.3 in this venv.
# Re-runnable: an existing venv is reused. Ends by touching $1/.installed.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh" "$@"   # checks $1, sets VENV and PY, creates the venv
"$VENV/bin/python" -m pip install --quiet "pip<25.3"
"$VENV/bin/python" -m pip install --quiet "numpy==1.26.4" "scipy==1.17.1" "threadpoolctl==3.8.0" wheel "setuptools<81"
"$VENV/bin/python" -m pip install --quiet --no-build-isolation --no-use-pep517 "lightfm==1.17"
"$VENV/bin/python" -c "import lightfm, numpy, scipy; from lightfm import LightFM; print('lightfm', lightfm.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
touch "$VENV/.installed"
