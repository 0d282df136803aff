"""A/B: no-op `plan` and `up` of two pocketdock checkouts, interleaved, on one project.

    python bench/ab.py OLD_TREE [NEW_TREE] [--n 100] [--runs 9]

Each tree is a directory holding a `pocketdock/` package (a `git worktree` of an older
commit, say); it goes first on `PYTHONPATH` and runs as `python -m pocketdock`. The project
of N sandboxes is brought up once by NEW_TREE (default: this checkout); the two trees then
take turns, so a change in the machine's load reaches both alike. Prints medians of wall
and CPU time. The project and its containers are removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from workload import engine_env, pocketdock_file, run_timed

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = "pocketdock-test/busybox:latest"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=REPO)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--socket", default="/var/run/docker.sock")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pd-ab-"))
    file = pocketdock_file(work / "project", "pdab", args.image, args.n)
    base = engine_env(args.socket, work / "pycache")
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    envs = {name: {**base, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
    command = [sys.executable, "-m", "pocketdock", "-q", "-f", str(file)]

    for name, env in envs.items():  # PYTHONPATH must win over an installed pocketdock
        probe = [sys.executable, "-c", "import pocketdock; print(pocketdock.__file__)"]
        where = run_timed(probe, env=env).stdout.strip()
        if not Path(where).is_relative_to(trees[name]):
            raise SystemExit(f"{name}: python imports pocketdock from {where}, not {trees[name]}")

    run_timed([*command, "up"], env=envs["new"])
    try:
        for name, env in envs.items():  # both must see a converged project, and say so
            shown = run_timed([*command, "plan", "--detailed-exitcode"], env=env)
            print(f"{name}: {trees[name]}: plan exit 0 ({shown.requests} engine requests)")
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for verb in ("plan", "up"):
                for name, env in envs.items():
                    timed = run_timed([*command, verb], env=env)
                    samples.setdefault((verb, name), []).append((timed.seconds, timed.cpu))
    finally:
        run_timed([*command, "down", "--destroy", "--yes"], env=envs["new"])

    print(f"\nno-op, {args.n} sandboxes, medians of {args.runs} interleaved runs")
    print("| command | wall old | wall new | CPU old | CPU new |")
    print("|---|---|---|---|---|")
    for verb in ("plan", "up"):
        cells = []
        for index in (0, 1):
            for name in ("old", "new"):
                values = [sample[index] for sample in samples[(verb, name)]]
                cells.append(f"{statistics.median(values):.3f} s")
        print(f"| `pocketdock {verb}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
