"""`make bench`: pocketdock against the engine's floor and docker-compose, in one run.

Every figure is the median of several runs, and the contenders take turns inside each
repetition, so their ratios hold on a busy machine. Writes `results.md`, `results.json`
and `up.png` to `--out-dir` (default: this directory) and prints the table.

Every container made here has a name starting with `--prefix`; they are all removed at
the end, as is the busybox image when this run imported it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import engine_floor
import httpx
import planner
import report
from report import Row
from workload import (
    Timed,
    compose_file,
    console_script,
    engine_env,
    pocketdock_file,
    run_timed,
)

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_IMAGE = "pdbench/busybox:latest"
PLANNER_SANDBOXES = 10_000
CONTENDERS = ("pocketdock", "floor", "compose")
SETTINGS = ("reps_20", "reps_100", "noop_runs", "run_iterations", "startup_runs", "planner_runs")


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


class Bench:
    """One benchmark run: its settings, the engine, and every sample taken."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.prefix: str = args.prefix
        self.socket: str = args.socket
        self.script = console_script()
        self.client = engine_floor.open_client(self.socket, engine_floor.DEFAULT_CONCURRENCY)
        self.image: str = args.image or DEFAULT_IMAGE
        self.imported_image = False
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.env = engine_env(self.socket, self.work / "pycache")
        self.compose: str | None = None if args.no_compose else shutil.which("docker-compose")
        # figure -> contender -> samples (seconds, or engine requests for "... requests")
        self.samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.extra: dict[str, Any] = {}
        self.compose_timed_out: dict[int, float] = {}  # N -> the limit its `up -d` passed

    def add(self, figure: str, contender: str, value: float) -> None:
        self.samples[figure][contender].append(value)

    def add_timed(self, figure: str, contender: str, timed: Timed) -> None:
        self.add(figure, contender, timed.seconds)
        self.add(f"{figure} cpu", contender, timed.cpu)

    def med(self, figure: str, contender: str) -> float | None:
        return median(self.samples.get(figure, {}).get(contender, []))

    def compose_up(self, n: int) -> tuple[float | None, bool]:
        """docker-compose's median `up -d` of N, and whether it is only a lower bound.

        A run stopped at the limit counts as one sample of that many seconds: it is slower
        than every run that finished, so the median over it is exact unless it is the
        middle sample itself, and then the figure is a lower bound.
        """
        done = self.samples.get(f"up {n}", {}).get("compose", [])
        limit = self.compose_timed_out.get(n)
        found = median([*done, limit] if limit is not None else done)
        return found, limit is not None and found == limit

    # -- set-up and clean-up ------------------------------------------------------------

    def prepare_image(self) -> None:
        from pocketdock.engine.client import get_client
        from pocketdock.sandbox.offline_image import ensure_busybox_image

        client = get_client(self.socket)
        if self.args.image is None and client.image_id(self.image) is None:
            self.imported_image = True
        ensure_busybox_image(client, self.image)

    def cleanup(self) -> None:
        removed = engine_floor.remove_by_name_prefix(self.client, self.prefix)
        if removed:
            print(f"cleanup: removed {removed} leftover container(s)", file=sys.stderr)
        if self.imported_image:
            response = self.client.delete(f"/images/{self.image}")
            if response.status_code not in (200, 404):
                print(f"cleanup: could not remove {self.image}: {response.text}", file=sys.stderr)
        shutil.rmtree(self.work, ignore_errors=True)
        self.client.close()

    def count_containers(self, prefix: str) -> int:
        items = self.client.get("/containers/json", params={"all": "1"}).json()
        names = [n.lstrip("/") for item in items for n in item.get("Names") or []]
        return sum(1 for n in names if n.startswith(prefix))

    def expect_containers(self, prefix: str, count: int, after: str) -> None:
        found = self.count_containers(prefix)
        if found != count:
            raise RuntimeError(f"after {after}: {found} containers named {prefix}*, not {count}")

    def warm_up(self) -> None:
        """One untimed round of every contender with one sandbox: compiles the bytecode
        into the fresh cache and pages everything in, so no first sample pays for it."""
        self.rep_pocketdock(1, timed=False)
        self.rep_floor(1)
        self.rep_compose(1)
        self.samples.clear()

    # -- contenders ---------------------------------------------------------------------

    def pocketdock(self, file: Path, *argv: str) -> Timed:
        return run_timed([self.script, "-f", str(file), *argv], env=self.env)

    def rep_pocketdock(self, n: int, *, timed: bool = True) -> None:
        project = f"{self.prefix}-pd{n}"
        file = pocketdock_file(self.work / f"pd{n}", project, self.image, n)
        self.add_timed(f"up {n}", "pocketdock", self.pocketdock(file, "-q", "up"))
        self.expect_containers(f"{project}-", n, "pocketdock up")
        for _ in range(self.args.noop_runs if timed else 1):
            planned = self.pocketdock(file, "plan")
            if "in sync" not in planned.stdout:
                raise RuntimeError(f"no-op plan was not in sync:\n{planned.stdout}")
            self.add_timed(f"no-op plan {n}", "pocketdock", planned)
            self.add(f"no-op plan {n} requests", "pocketdock", planned.requests or 0)
            again = self.pocketdock(file, "-q", "up")
            self.add_timed(f"no-op up {n}", "pocketdock", again)
            self.add(f"no-op up {n} requests", "pocketdock", again.requests or 0)
        self.add_timed(f"down {n}", "pocketdock", self.pocketdock(file, "-q", "down"))
        self.expect_containers(f"{project}-", 0, "pocketdock down")
        self.pocketdock(file, "-q", "up")
        destroyed = self.pocketdock(file, "-q", "down", "--destroy", "--yes")
        self.add_timed(f"down --destroy {n}", "pocketdock", destroyed)
        self.expect_containers(f"{project}-", 0, "pocketdock down --destroy")

    def floor(self, command: str, project: str, n: int) -> Timed:
        script = str(BENCH_DIR / "engine_floor.py")
        argv = [sys.executable, script, command, self.socket, self.image, project, str(n)]
        done = run_timed(argv, env=self.env)
        self.add(f"{command} {n} engine only", "floor", json.loads(done.stdout)["engine_seconds"])
        return done

    def rep_floor(self, n: int) -> None:
        project = f"{self.prefix}-fl{n}"
        self.add_timed(f"up {n}", "floor", self.floor("up", project, n))
        self.expect_containers(f"{project}-", n, "floor up")
        removed = self.floor("down", project, n)
        self.add_timed(f"down {n}", "floor", removed)
        self.add_timed(f"down --destroy {n}", "floor", removed)
        self.expect_containers(f"{project}-", 0, "floor down")

    def rep_compose(self, n: int) -> None:
        if self.compose is None or n in self.compose_timed_out:
            return
        project = f"{self.prefix}cp{n}"
        file = compose_file(self.work / f"cp{n}", self.image, n)
        argv = [self.compose, "-p", project, "-f", str(file)]
        limit = self.args.compose_timeout
        try:
            self.add_timed(
                f"up {n}", "compose", run_timed([*argv, "up", "-d"], env=self.env, timeout=limit)
            )
        except subprocess.TimeoutExpired:
            # Recorded as a lower bound; later repetitions at this N skip docker-compose.
            print(f"note: docker-compose up -d of {n} took over {limit:.0f} s; stopped it")
            self.compose_timed_out[n] = limit
            engine_floor.remove_by_name_prefix(self.client, f"{project}_")
            return
        self.expect_containers(f"{project}_", n, "docker-compose up -d")
        removed = run_timed([*argv, "down"], env=self.env)
        self.add_timed(f"down {n}", "compose", removed)
        self.add_timed(f"down --destroy {n}", "compose", removed)
        self.expect_containers(f"{project}_", 0, "docker-compose down")

    # -- figures ------------------------------------------------------------------------

    def lifecycle(self, n: int, repetitions: int) -> None:
        runners = {
            "pocketdock": self.rep_pocketdock,
            "floor": self.rep_floor,
            "compose": self.rep_compose,
        }
        for rep in range(repetitions):
            # Rotate who goes first, so no contender always meets a cold or busy engine.
            order = CONTENDERS[rep % 3 :] + CONTENDERS[: rep % 3]
            print(f"N={n}: repetition {rep + 1}/{repetitions} ({', '.join(order)})", flush=True)
            for who in order:
                runners[who](n)

    def run_latency(self, iterations: int) -> None:
        from pocketdock.sandbox.containers import create_new_container

        container = create_new_container(
            image=self.image, name=f"{self.prefix}-run", socket_path=self.socket
        )
        try:
            for _ in range(3):  # warm both connection pools
                container.run("true")
                engine_floor.run_true(self.client, container.id)
            for i in range(iterations):
                pair = [("pocketdock", self._pocketdock_run), ("floor", self._floor_run)]
                for who, runner in pair if i % 2 == 0 else reversed(pair):
                    self.add("run(true)", who, runner(container))
        finally:
            container.shutdown()

    def _pocketdock_run(self, container: Any) -> float:
        started = time.perf_counter()
        result = container.run("true")
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise RuntimeError(f"`true` exited with {result.exit_code} under pocketdock")
        return elapsed

    def _floor_run(self, container: Any) -> float:
        return engine_floor.run_true(self.client, container.id)

    def startup(self, repetitions: int) -> None:
        shim = str(Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "shims/pocketdock")
        variants = {
            "pocketdock": [self.script],
            "python -m": [sys.executable, "-m", "pocketdock"],
        }
        if Path(shim).exists():
            variants["shim"] = [shim]
        for flag in ("--version", "--help"):
            runs: dict[str, list[str]] = {
                **{who: [*argv, flag] for who, argv in variants.items()},
                "floor": [sys.executable, "-c", "pass"],
            }
            if self.compose is not None:
                runs["compose"] = [self.compose, flag]
            for argv in runs.values():  # one untimed run to warm the page cache
                run_timed(argv, env=self.env)
            for _ in range(repetitions):
                for who, argv in runs.items():
                    self.add_timed(f"startup {flag}", who, run_timed(argv, env=self.env))

    def planner(self, repetitions: int) -> None:
        measured = planner.measure(PLANNER_SANDBOXES, repetitions)
        self.extra["planner"] = measured
        for seconds in measured["noop_seconds"]:
            self.add("planner", "pocketdock", seconds)

    # -- the table ----------------------------------------------------------------------

    def rows(self, ns: list[int]) -> list[Row]:
        rows: list[Row] = []
        for n in ns:
            rows += self._lifecycle_rows(n)
        rows += self._other_rows()
        return rows

    def _lifecycle_rows(self, n: int) -> list[Row]:
        up = self._row(f"up {n}", f"`up` {n} from nothing", "s")
        compose, lower_bound = self.compose_up(n)
        up = replace(up, compose=compose, compose_over=lower_bound)
        if n == 20:
            faster = up.compose is None or (up.pocketdock or 0) < up.compose
            up = replace(
                up, target="<= 1.15x floor, < compose", passed=_le(up.ratio, 1.15) and faster
            )
        rows = [up, self._row(f"up {n} cpu", f"`up` {n}, CPU time", "s")]
        for command in ("up", "plan"):
            figure = f"no-op {command} {n}"
            wall = self._row(figure, f"no-op `{command}` {n}, wall", "s")
            if n == 100:
                wall = replace(wall, target="<= 0.5 s", passed=_le(wall.pocketdock, 0.5))
            # The floor is one list call plus one image inspect (the project has one image).
            requests = Row(f"no-op `{command}` {n}, engine requests", "req",
                           self.med(f"{figure} requests", "pocketdock"), 2.0)  # fmt: skip
            if n >= 20:
                passed = requests.pocketdock == 2
                requests = replace(requests, target="1 list + 1 inspect", passed=passed)
            rows += [wall, self._row(f"{figure} cpu", f"no-op `{command}` {n}, CPU time", "s")]
            rows.append(requests)
        down = self._row(f"down {n}", f"`down` {n}", "s")
        destroy = self._row(f"down --destroy {n}", f"`down --destroy` {n}", "s")
        if n == 20:
            down = replace(down, target="<= 3 s", passed=_le(down.pocketdock, 3.0))
            destroy = replace(destroy, target="<= 1.2x floor", passed=_le(destroy.ratio, 1.2))
        return [*rows, down, destroy]

    def _row(self, figure: str, label: str, unit: str, scale: float = 1.0) -> Row:
        def value(who: str) -> float | None:
            found = self.med(figure, who)
            return None if found is None else found * scale

        return Row(
            label,
            unit,
            value("pocketdock"),
            value("floor"),
            value("compose"),
            paired=self.paired_ratio(figure),
        )

    def paired_ratio(self, figure: str) -> float | None:
        """Median of pocketdock / floor over samples taken side by side (same repetition).

        The engine slows down and speeds up during a run (its own clean-up of removed
        containers, other work on the machine); dividing within a repetition cancels that
        drift, where a ratio of two medians taken from different repetitions does not.
        """
        ours = self.samples.get(figure, {}).get("pocketdock", [])
        floor = self.samples.get(figure, {}).get("floor", [])
        if not ours or len(ours) != len(floor) or not all(floor):
            return None
        return statistics.median(a / b for a, b in zip(ours, floor, strict=True))

    def _other_rows(self) -> list[Row]:
        run = self._row("run(true)", '`Container.run("true")`', "ms", 1000.0)
        rows = [replace(run, target="<= 1.05x floor", passed=_le(run.ratio, 1.05))]
        seconds = self.med("planner", "pocketdock")
        peak = self.extra.get("planner", {}).get("noop_peak_bytes")
        megabytes = None if peak is None else peak / 1e6
        label = f"planner, {PLANNER_SANDBOXES:,} sandboxes (no-op)"
        rows.append(Row(f"{label}, time", "s", seconds, target="< 0.5 s", passed=_lt(seconds, 0.5)))
        rows.append(
            Row(f"{label}, peak memory", "MB", megabytes, target="< 200 MB",
                passed=_lt(megabytes, 200))
        )  # fmt: skip
        for flag in ("--version", "--help"):
            figure = f"startup {flag}"
            row = self._row(figure, f"`pocketdock {flag}` (console script)", "s")
            rows.append(replace(row, target="<= 0.15 s", passed=_le(row.pocketdock, 0.15)))
            rows.append(self._row(f"{figure} cpu", f"`pocketdock {flag}`, CPU time", "s"))
            for who, name in (("python -m", "python -m pocketdock"), ("shim", "pyenv shim")):
                found = self.med(figure, who)
                if found is not None:
                    rows.append(Row(f"`{flag}` via {name}", "s", found, self.med(figure, "floor")))
        return rows


def _le(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _lt(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def machine(bench: Bench) -> dict[str, Any]:
    version: dict[str, Any] = {}
    with contextlib.suppress(httpx.HTTPError):
        version = bench.client.get("/version").json()
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    compose_version = ""
    if bench.compose is not None:
        done = subprocess.run([bench.compose, "version", "--short"], capture_output=True, text=True)
        compose_version = done.stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "engine": f"{version.get('Platform', {}).get('Name') or 'Docker Engine'} "
        f"{version.get('Version')}",
        "engine_api": version.get("ApiVersion"),
        "docker_compose": compose_version or "not installed",
        "load_average_start": os.getloadavg(),
        "settings": {key: getattr(bench.args, key) for key in SETTINGS},
    }


def describe(info: dict[str, Any]) -> str:
    runs = info["settings"]
    load_start = ", ".join(f"{x:.2f}" for x in info["load_average_start"])
    load_end = ", ".join(f"{x:.2f}" for x in info["load_average_end"])
    compose = info["docker_compose"]
    return "\n".join(
        [
            f"- Machine: {info['cpus']} cores ({info['cpu_model'] or 'unknown CPU'}), "
            f"Linux {info['kernel']}, Python {info['python']}.",
            f"- Engine: {info['engine']} (API {info['engine_api']}), over its Unix socket; "
            "no bridge network, so every container has loopback only.",
            f"- docker-compose: {compose}.",
            f"- Load average (1, 5, 15 min) at start: {load_start}; at end: {load_end} "
            "(the benchmark's own container starts raise it; nothing else on the machine is "
            "controlled).",
            f"- Each figure is the median of its samples: {runs['reps_20']} repetitions at "
            f"N=20, {runs['reps_100']} at N=100 (other N: {runs['reps_20']}), "
            f"{runs['noop_runs']} no-op runs per repetition, {runs['run_iterations']} `run` "
            f"calls, {runs['startup_runs']} start-ups, {runs['planner_runs']} planner runs. "
            "Contenders take turns within each repetition.",
            "- CLI figures are the wall time of the whole process, spawn to exit, of the real "
            "console script (`<python>/bin/pocketdock`), with `-q` on `up`/`down`. "
            "The pyenv shim and `python -m` are listed separately for start-up.",
            "- Floor: `bench/engine_floor.py`, a minimal script issuing the same creates and "
            f"starts (or list and removes) over the socket with httpx from "
            f"{engine_floor.DEFAULT_CONCURRENCY} threads, timed as a whole process like the "
            "CLI (pocketdock uses its default `--parallel 8`). For `run`, both run in one "
            "process on kept-alive connections. For start-up, the floor is `python -c pass`.",
            "- Ratio: the median, over repetitions, of pocketdock's time divided by the "
            "floor's in the same repetition (the two run back to back), so that the engine's "
            "drift during the run cancels out; `results.json` also holds every sample.",
        ]
    )


def write_outputs(bench: Bench, ns: list[int], info: dict[str, Any]) -> None:
    out = Path(bench.args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = bench.rows(ns)
    table = report.markdown_table(rows)
    print("\n" + table + "\n")
    notes_file = BENCH_DIR / "profiling_notes.md"
    notes = notes_file.read_text(encoding="utf-8").strip() if notes_file.exists() else ""
    text = ["# pocketdock benchmark results", "", describe(info), "", table, ""]
    for n, limit in sorted(bench.compose_timed_out.items()):
        finished = len(bench.samples.get(f"up {n}", {}).get("compose", []))
        text += [
            f"docker-compose `up -d` of {n} was stopped after {limit:.0f} s once, and not run "
            f"again at that N; {finished} run(s) before it finished. The stopped run counts "
            f"as a sample of {limit:.0f} s in the median.",
            "",
        ]
    if notes:
        text += [notes, ""]
    (out / "results.md").write_text("\n".join(text), encoding="utf-8")
    raw = {
        "machine": info,
        "samples": {figure: dict(who) for figure, who in bench.samples.items()},
        "planner": bench.extra.get("planner", {}),
        "compose_timed_out": bench.compose_timed_out,
    }
    report.write_json(out / "results.json", raw, rows)
    series: dict[str, dict[int, float]] = {}
    for who, label in (
        ("pocketdock", "pocketdock"),
        ("floor", "floor (engine API)"),
        ("compose", "docker-compose"),
    ):
        points = {n: bench.med(f"up {n}", who) for n in ns}
        if who == "compose":
            points = {n: bench.compose_up(n)[0] for n in ns}
            bounds = [f"N={n} a lower bound" for n in ns if bench.compose_up(n)[1]]
            label += f" ({', '.join(bounds)})" if bounds else ""
        series[label] = {n: v for n, v in points.items() if v is not None}
    if not report.write_chart(out / "up.png", series):
        print("note: matplotlib is not installed; no chart (pip install matplotlib)")
    print(f"wrote {out / 'results.md'}, {out / 'results.json'} and {out / 'up.png'}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, nargs="+", default=[20, 100], help="sandbox counts")
    parser.add_argument("--quick", action="store_true", help="N=2, one repetition of each")
    parser.add_argument("--reps", type=int, help="repetitions for every N")
    parser.add_argument("--noop-runs", type=int, default=3)
    parser.add_argument("--run-iterations", type=int, default=40)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--planner-runs", type=int, default=5)
    parser.add_argument("--out-dir", default=str(BENCH_DIR))
    parser.add_argument("--socket", default=os.environ.get("POCKETDOCK_SOCKET", ""))
    parser.add_argument("--image", help="an existing image to use (left in place)")
    parser.add_argument("--prefix", default=f"pdbench{secrets.token_hex(2)}")
    parser.add_argument("--no-compose", action="store_true", help="skip docker-compose")
    parser.add_argument(
        "--compose-timeout", type=float, default=120.0, help="give up on a docker-compose up"
    )
    parser.add_argument("--rerender", metavar="JSON", help="only rewrite outputs from a run")
    args = parser.parse_args(argv)
    args.socket = args.socket or "/var/run/docker.sock"
    args.reps_20, args.reps_100 = 7, 3
    if args.quick:
        args.n, args.reps = [2], 1
        args.noop_runs = args.startup_runs = args.planner_runs = 1
        args.run_iterations = 5
    if args.reps is not None:
        args.reps_20 = args.reps_100 = args.reps
    return args


def rerender(bench: Bench, path: Path) -> None:
    """Rewrite the outputs from a saved results.json, e.g. after editing the notes."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    for figure, contenders in saved["samples"].items():
        for who, values in contenders.items():
            bench.samples[figure][who] = list(values)
    bench.extra["planner"] = saved.get("planner", {})
    bench.compose_timed_out = {int(n): s for n, s in saved.get("compose_timed_out", {}).items()}
    ns = sorted({int(f.split()[1]) for f in saved["samples"] if f.startswith("up ")})
    write_outputs(bench, ns, saved["machine"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain SIGTERM would skip the clean-up below; make it an ordinary exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    bench = Bench(args)
    if args.rerender:
        try:
            rerender(bench, Path(args.rerender))
        finally:
            bench.cleanup()
        return 0
    if bench.compose is None and not args.no_compose:
        print("note: docker-compose is not installed; its column stays empty "
              "(apt-get install -y docker-compose)")  # fmt: skip
    info: dict[str, Any] = {}
    try:
        info = machine(bench)
        bench.prepare_image()
        bench.warm_up()
        print("CLI start-up ...", flush=True)
        bench.startup(args.startup_runs)
        print(f"planner on {PLANNER_SANDBOXES:,} simulated sandboxes ...", flush=True)
        bench.planner(args.planner_runs)
        print('Container.run("true") ...', flush=True)
        bench.run_latency(args.run_iterations)
        for n in args.n:
            bench.lifecycle(n, args.reps_100 if n >= 100 else args.reps_20)
        info["load_average_end"] = os.getloadavg()
        write_outputs(bench, args.n, info)
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
