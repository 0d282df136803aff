"""Making a small image without a registry: the host's busybox, imported as a root fs.

The demo, the tests and the benchmarks run on machines that cannot pull images. This
module packs the host's statically linked `busybox` and a link for each of its applets
into a tarball in memory and imports it through the engine's image-import API, with
`PATH` set in the image config. It needs `busybox-static` (or any static busybox) on
the host; a dynamically linked busybox would not run inside the image.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import split_image_ref
from pocketdock.errors import PocketDockError

DEFAULT_BUSYBOX = "/bin/busybox"
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _applets(busybox: Path) -> list[str]:
    # `--list-full` prints each applet's install path, e.g. `usr/bin/env`.
    done = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PocketDockError(f"failed to list busybox applets of {busybox}: {done.stderr.strip()}")
    return sorted({line.strip().lstrip("/") for line in done.stdout.splitlines() if line.strip()})


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def busybox_rootfs(busybox: str | Path = DEFAULT_BUSYBOX) -> bytes:
    """A tarball of a minimal root filesystem built around `busybox`."""
    path = Path(busybox)
    if not path.is_file():
        found = shutil.which("busybox")
        if found is None:
            raise PocketDockError(
                f"no busybox at {busybox}; install one (Debian: apt-get install busybox-static)"
            )
        path = Path(found)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "var"):
            _add_dir(tar, directory)
        for directory in ("tmp", "var/tmp"):
            _add_dir(tar, directory, 0o1777)
        _add_file(tar, "bin/busybox", path.read_bytes(), 0o755)
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        _add_file(tar, "etc/group", b"root:x:0:\n")
        for applet in _applets(path):
            if applet == "bin/busybox":
                continue
            link = tarfile.TarInfo(applet)
            link.type = tarfile.SYMTYPE
            link.linkname = "/bin/busybox"
            tar.addfile(link)
    return buffer.getvalue()


def ensure_busybox_image(
    client: EngineClient, reference: str, *, busybox: str | Path = DEFAULT_BUSYBOX
) -> str:
    """Import the busybox image as `reference` unless the engine has it; returns its id."""
    existing = client.image_id(reference)
    if existing is not None:
        return existing
    repo, tag = split_image_ref(reference)
    changes = [f"ENV PATH={IMAGE_PATH}", 'CMD ["sh"]']
    return client.import_image(busybox_rootfs(busybox), repo=repo, tag=tag, changes=changes)
