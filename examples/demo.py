"""A short tour of pocketdock, run by `make demo`.

Part 1 uses the imperative API; part 2 brings up the `agent-pool` example project with
the CLI, shows its status and plan, then tears it down. Works offline: if the engine has
no `busybox:latest`, the host's busybox is imported as that image first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pocketdock
from pocketdock.engine import get_client
from pocketdock.sandbox.offline_image import ensure_busybox_image

IMAGE = "busybox:latest"
EXAMPLE = Path(__file__).parent / "agent-pool"


def heading(text: str) -> None:
    print(f"\n=== {text}")


def imperative_tour(socket_path: str | None) -> None:
    heading("imperative API: a persistent sandbox survives shutdown")
    box = pocketdock.create_new_container(
        name="pocketdock-demo", image=IMAGE, persist=True, socket_path=socket_path
    )
    print(f"created {box.name} ({box.id[:12]})")
    result = box.run("echo hello from $(hostname); uname -s")
    print(f"run -> exit {result.exit_code} in {result.duration * 1000:.0f} ms: {result.stdout!r}")
    box.write_file("/root/notes.txt", "work in progress\n")
    box.shutdown()
    print(
        "shutdown: stopped, not removed:",
        [
            (i.name, i.status)
            for i in pocketdock.list_containers(socket_path=socket_path)
            if i.name == "pocketdock-demo"
        ],
    )
    again = pocketdock.resume_container("pocketdock-demo", socket_path=socket_path)
    print("resumed; the file is still there:", again.read_file("/root/notes.txt"))
    pocketdock.destroy_container("pocketdock-demo", socket_path=socket_path)
    print("destroyed pocketdock-demo")


def cli(project: Path, *args: str) -> None:
    print(f"$ pocketdock {' '.join(args)}")
    subprocess.run([sys.executable, "-m", "pocketdock", *args], cwd=project, check=False)


def declarative_tour() -> None:
    heading("declarative: the agent-pool example from pocket-dock.toml")
    with tempfile.TemporaryDirectory(prefix="pocketdock-demo-") as tmp:
        project = Path(tmp) / "agent-pool"
        shutil.copytree(EXAMPLE, project)
        try:
            cli(project, "up")
            cli(project, "status")
            cli(project, "exec", "workspace", "--", "cat", "/workspace/.ready")
            cli(project, "plan")
        finally:
            cli(project, "down", "--destroy", "--yes")


def main() -> None:
    socket_path = os.environ.get("POCKETDOCK_SOCKET")
    client = get_client(socket_path)
    client.ping()
    if client.image_id(IMAGE) is None:
        print(f"importing the host's busybox as {IMAGE} (no registry needed)")
        ensure_busybox_image(client, IMAGE)
    imperative_tour(socket_path)
    declarative_tour()


if __name__ == "__main__":
    try:
        main()
    except pocketdock.PocketDockError as exc:
        sys.exit(f"demo failed: {exc}")
