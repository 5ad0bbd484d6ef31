"""promtool for the tests: the one on PATH, else the one of Debian's prometheus package, extracted once into the
cache (``apt-get download``: the package is never installed, no service starts). Prints its path when run."""

import glob
import os
import shutil
import subprocess
import tempfile

CACHE = os.environ.get("RTCSTACK_CACHE", os.path.expanduser("~/.cache/rtcstack"))
TARGET = os.path.join(CACHE, "promtool", "promtool")


def path():
    found = shutil.which("promtool")
    if found:
        return found
    if os.access(TARGET, os.X_OK):
        return TARGET
    work = tempfile.mkdtemp()
    try:
        download = ["apt-get", "download", "-qq", "prometheus"]
        if subprocess.run(download, cwd=work, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=True)
            subprocess.run(download, cwd=work, capture_output=True, check=True)
        deb = glob.glob(os.path.join(work, "prometheus_*.deb"))[0]
        data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", work, "./usr/bin/promtool"], input=data, check=True)
        os.makedirs(os.path.dirname(TARGET), exist_ok=True)
        shutil.move(os.path.join(work, "usr", "bin", "promtool"), TARGET + ".tmp")
        os.replace(TARGET + ".tmp", TARGET)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TARGET


if __name__ == "__main__":
    print(path())
