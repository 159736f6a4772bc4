"""Stop `make install` early, with the reason, where the lock files cannot install.

The locks (requirements-*.lock) pin wheels for the image's platform, CPython 3.11 on Linux x86_64, with
their hashes; another Python or machine would fail halfway with a hash or "no matching distribution" error.
"""

from __future__ import annotations

import platform
import sys


def main() -> int:
    implementation, version = platform.python_implementation(), sys.version_info[:2]
    system, machine = platform.system(), platform.machine()
    if (implementation, version, system, machine) == ("CPython", (3, 11), "Linux", "x86_64"):
        return 0
    print(
        "make install: the lock files are for CPython 3.11 on Linux x86_64 (the image's platform); this is "
        f"{implementation} {version[0]}.{version[1]} on {system} {machine}. Give another interpreter with "
        "PYTHON=python3.11, or build the image (README 'Dependencies').",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
