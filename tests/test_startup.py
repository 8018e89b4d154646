"""Start-up stays fast: `unweave --help` and `unweave methods` import no heavy module (scipy's
signal and ndimage, torch, ray, PIL, av); each is imported by the command that uses it."""

import json
import subprocess
import sys

HEAVY = ("scipy.signal", "scipy.ndimage", "scipy.stats", "torch", "ray", "PIL", "av")

PROBE = """
import contextlib, io, json, sys
from unweave.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules)))
"""


def _loaded(*argv: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_help_and_methods_import_no_heavy_module():
    for argv in (["--help"], ["methods"], ["train", "--help"], ["separate", "--help"]):
        heavy = sorted(m for m in _loaded(*argv) if m in HEAVY)
        assert not heavy, f"unweave {' '.join(argv)} imports {heavy}"


def test_importing_the_package_is_light():
    out = subprocess.run([sys.executable, "-c", "import json, sys, unweave, unweave.cli; "
                          "print(json.dumps(sorted(sys.modules)))"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    loaded = set(json.loads(out))
    assert not loaded & {*HEAVY, "numpy", "soundfile"}, sorted(loaded & {*HEAVY, "numpy"})
