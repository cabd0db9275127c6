#!/usr/bin/env bash
# Install Cornac 3.0.1 into its own virtual environment (bench peer; never imports graphrec).
#
#   bash bench/peers/install/cornac.sh bench/.venvs/cornac
#
# Re-runnable: an existing venv is reused, pip makes the pins hold. Ends by touching $1/.installed.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh" "$@"   # checks $1, sets VENV and PY, creates the venv
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# cornac 3.0.1 ships a cp311 manylinux wheel and requires numpy>2 (pins: the versions verified with it;
# threadpoolctl lets the runner cap BLAS threads for EASE).
"$VENV/bin/python" -m pip install --quiet "cornac==3.0.1" "numpy==2.3.5" "scipy==1.16.3" "threadpoolctl==3.8.0"
"$VENV/bin/python" -c "import cornac, numpy, scipy; print('cornac', cornac.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
touch "$VENV/.installed"
