"""Install Debian's chromium (and a Chinese font for it) for the end-to-end test when missing, and
poppler-utils (pdffonts) for the exported PDF's font check.

Playwright's own browser download cannot work here, so the e2e test drives
/usr/bin/chromium. Without a CJK font the screenshots would show empty boxes
for every Chinese label. Run by `make test` before pytest; harmless when present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"
CJK_FONT_DIR = "/usr/share/fonts/truetype/wqy"
# poppler-utils: pdffonts, with which tests/test_reports_export_annual.py checks every font is embedded.
PACKAGES = {"chromium": CHROMIUM, "fonts-wqy-zenhei": CJK_FONT_DIR, "poppler-utils": "/usr/bin/pdffonts"}


def main() -> int:
    missing = [package for package, path in PACKAGES.items() if not os.path.exists(path)]
    if not missing:
        return 0
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"Missing for the end-to-end test and cannot be installed here: {', '.join(missing)} "
              "(Debian packages).")
        return 0 if CHROMIUM not in [PACKAGES[p] for p in missing] else 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {', '.join(missing)} for the end-to-end test…", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
