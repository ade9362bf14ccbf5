"""`make audit`: pip-audit of requirements.lock that fails on vulnerabilities, not on the network.

Exit 1 when any locked package has a known vulnerability. When the vulnerability service
cannot be reached, or answers for none of the packages (an index mirror without PyPI's
per-release JSON API makes pip-audit skip every package and report "no known
vulnerabilities"), it prints a warning and exits 0: a network hiccup must not fail CI,
and a run that audited nothing must not pass for a clean one. METRICX_AUDIT_STRICT=1
turns "could not audit" into a failure (for machines with real access to PyPI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
TIMEOUT_SECONDS = int(os.environ.get("METRICX_AUDIT_TIMEOUT", "180"))
STRICT = os.environ.get("METRICX_AUDIT_STRICT") == "1"


def _not_audited(reason: str) -> int:
    print(f"audit: WARNING: dependencies NOT audited: {reason}", file=sys.stderr)
    return 1 if STRICT else 0


def main() -> int:
    """Run pip-audit and classify its outcome."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "-r",
        str(LOCK),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command, no user input
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        return _not_audited(f"pip-audit took longer than {TIMEOUT_SECONDS} s")
    except FileNotFoundError as exc:
        return _not_audited(f"cannot run pip-audit ({exc})")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return _not_audited(f"the vulnerability service is unreachable ({last[:200]})")
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        ids = ", ".join(
            f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])})"
            for v in dep["vulns"]
        )
        print(f"audit: VULNERABLE {dep['name']}=={dep['version']}: {ids}", file=sys.stderr)
    if vulnerable:
        return 1
    audited = len(deps) - len(skipped)
    if not deps or audited == 0:
        return _not_audited(
            f"the index answered for none of the {len(deps)} locked packages "
            f"({skipped[0]['skip_reason'] if skipped else 'empty report'})"
        )
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        print(f"audit: WARNING: {len(skipped)} package(s) not audited: {names}", file=sys.stderr)
    print(f"audit: {audited} package(s) audited, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
