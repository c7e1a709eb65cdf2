"""The console in real headless Chromium (Debian's package, driven by Playwright).

Chromium tries vendor DNS lookups and offers non-loopback ICE candidates, so the browser part
runs in a network namespace where only `lo` exists (ENVIRONMENT.md): the outer test re-runs
this file under `unshare -n`, where the inner test starts the simulator, the hub's web app
and the browser, all on 127.0.0.1. Screenshots go to test-artifacts/console/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

IN_NETNS = os.environ.get("BKHUB_IN_NETNS") == "1"
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

if not IN_NETNS:

    def test_console_in_headless_chromium() -> None:
        problems = []
        if not CHROMIUM.exists():
            problems.append("no /usr/bin/chromium: apt-get install -y chromium")
        try:
            import playwright  # noqa: F401
        except ImportError:
            problems.append("no playwright: .venv/bin/pip install playwright (no browser download)")
        if shutil.which("unshare") is None or shutil.which("ip") is None:
            problems.append("needs unshare (util-linux) and ip (iproute2)")
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            problems.append(
                "cannot create a network namespace (`unshare -n`): run as root or allow "
                f"unprivileged user namespaces ({probe.stderr.strip()})"
            )
        if problems:
            pytest.fail("browser test cannot run here:\n  " + "\n  ".join(problems))
        inner = (
            "ip link set lo up && exec "
            f"{sys.executable} -m pytest -q -p no:cacheprovider -x tests/test_console_browser.py"
        )
        result = subprocess.run(
            ["unshare", "-n", "--", "sh", "-c", inner],
            cwd=REPO,
            env={**os.environ, "BKHUB_IN_NETNS": "1"},
            capture_output=True,
            text=True,
            timeout=900,  # the whole console scenario, many pages and logins
        )
        assert result.returncode == 0, f"inside the namespace:\n{result.stdout}\n{result.stderr}"

else:
    from tests.console_scenario import test_console_scenario  # noqa: F401
