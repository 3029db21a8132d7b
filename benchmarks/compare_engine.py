"""Engine step time of another commit against this checkout, measured in one run: `make bench-compare REV=...`.

Checks REV out into a temporary git worktree and runs ``bench_engine.py --json``
against each tree in turn (A B A B ...), so both figures come from the same
machine at the same time; it prints the median of each tree's medians and their
ratio per house count. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "bench_engine.py"


#: Runs bench_engine.py with a given tree's leg_sim first on sys.path (PYTHONPATH is not
#: enough: the editable install's import hook would still find this checkout).
RUNNER = "import sys; tree, bench, *args = sys.argv[1:]; sys.path.insert(0, tree); sys.argv = [bench, *args]; exec(open(bench).read())"


def run(tree: Path, sizes: list[int]) -> dict[str, float]:
    """Medians [ms] of one bench run against `tree`'s leg_sim."""
    cmd = [sys.executable, "-c", RUNNER, str(tree), str(BENCH), "--json", "--sizes", *map(str, sizes)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rev", help="the commit to compare against (e.g. a tag or hash)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tree, alternating")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 100, 1000, 10000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.rev], check=True, capture_output=True)
        try:
            results: dict[str, list[dict[str, float]]] = {"other": [], "this": []}
            for _ in range(args.rounds):
                results["other"].append(run(other, args.sizes))
                results["this"].append(run(REPO, args.sizes))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=False, capture_output=True)
    print(f"engine step median [ms], {args.rounds} alternating runs per tree; {args.rev} vs this checkout")
    print(f"{'houses':>8} {args.rev[:12]:>14} {'this':>10} {'this/' + args.rev[:7]:>14}")
    for n in map(str, args.sizes):
        a = statistics.median(r[n] for r in results["other"])
        b = statistics.median(r[n] for r in results["this"])
        print(f"{n:>8} {a:>14.2f} {b:>10.2f} {b / a:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
