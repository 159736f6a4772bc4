"""Stop `make install` early, with the reason, where the lock files cannot install.

The locks (requirements-*.lock) pin wheels for the image's platform, CPython 3.11 on Linux x86_64, with
their hashes; another Python or machine would fail halfway with a hash or "no matching distribution" error.
"""

from __future__ import annotations

import platform
import sys

WANTED = ("CPython", (3, 11), "Linux", ("x86_64", "AMD64"))


def main() -> int:
    found = (platform.python_implementation(), sys.version_info[:2], platform.system(), platform.machine())
    if found[0] == WANTED[0] and found[1] == WANTED[1] and found[2] == WANTED[2] and found[3] in WANTED[3]:
        return 0
    print(
        f"make install: the lock files are for CPython 3.11 on Linux x86_64 (the image's platform); "
        f"this is {found[0]} {found[1][0]}.{found[1][1]} on {found[2]} {found[3]}. "
        "Give another interpreter with PYTHON=python3.11, or run in the image (README 'Dependencies').",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
