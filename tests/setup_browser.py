"""Install Debian's chromium for the end-to-end test when it is missing.

Playwright's own browser download cannot work here, so the e2e test drives
/usr/bin/chromium. Run by `make test` before pytest; harmless when present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print("chromium is missing and cannot be installed here: install Debian's `chromium` package.")
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("Installing Debian chromium for the end-to-end test…", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
