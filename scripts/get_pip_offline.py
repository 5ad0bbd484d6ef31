"""Stand-in for the pip bootstrap script that ansible-test downloads from a host these machines
cannot reach. ansible-test runs it in a new, pip-less venv with pip's arguments (for example
``pip==24.2 --no-setuptools --no-wheel``). It installs the pip bundled with Python (ensurepip),
then lets that pip install the requested packages from the package index.

scripts/bootstrap.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
