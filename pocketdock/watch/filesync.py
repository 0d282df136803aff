"""Copying host directories into running sandboxes through the engine's archive API.

Each `sync` rule of a sandbox (`"./src" = "/app/src"`) is kept in step by a `RuleSync`:
it scans the host directory, compares the content hash of every file with what it last
sent to that container, and sends what differs as one tar archive (`PUT .../archive`);
files deleted on the host are removed with one `rm -rf` per batch. Working through the
API rather than a bind mount means it also works with a remote engine.

The first sync into a container (at start, and whenever the sandbox's container is
re-created and so has a new id) is by content: the container's own files are hashed
with `sha256sum` inside it, so files it already holds are not sent again. Only regular
files are hashed there: a FIFO, device or symlink at a synced path counts as differing
and is replaced. When that command is missing, fails or takes over `HASH_TIMEOUT`
seconds, everything is sent. Deletes need `rm` in the sandbox.

Deletes: only files this process saw on the host and that then disappeared are removed
from the container; files that exist only in the container (built there, or ignored on
the host) are left alone, except that a directory deleted on the host is removed from
the container as a whole, with whatever it held there. A delete that failed is retried
by the next sync into the same container. When a directory under the source cannot be
listed (EIO, EACCES, a stale NFS handle), that rule's sync fails for this pass and
deletes nothing, since a partial listing would make its contents look deleted; so does
a `.gitignore` that cannot be read, since sending what it ignores cannot be undone.
Note that a file deleted while watch was not running is not removed from the container,
and that changes made inside the container are not noticed after the first sync.

Ignored paths: `.git` and `.pocketdock` (pocketdock's state) always, and the patterns
of `.gitignore` files in the synced directory, in its subdirectories, and in the
directories between it and the project's directory. Supported: comments, blank lines,
`*`, `?`, `[...]` classes (`[!...]` too), `**` as a whole segment (`**/x`, `x/**`,
`a/**/b`), a trailing `/` for directories only, a leading or inner `/` anchoring the
pattern to its `.gitignore`'s directory, negation with `!`, and `\\` escapes. Not
supported: `.git/info/exclude`, the global `core.excludesFile`, and git's rule that
trailing spaces escaped with `\\` are kept (all trailing spaces are dropped). As in
git, a file inside an ignored directory cannot be re-included by a negated pattern.

Modes: the permission bits are sent with each file; a change of mode alone is sent once
watch sees it, but the first comparison with a container's files looks at content only.
Files are owned by root in the sandbox. Each batch is built in memory. A file is read
without following symlinks and only while it is still the file that was listed, so one
swapped for a symlink mid-sync is never read through. Names that are not UTF-8 cannot
be passed through the engine's JSON API and are skipped (reported once per rule).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import posixpath
import re
import stat
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pocketdock.engine.client import EngineClient
from pocketdock.errors import PocketDockError
from pocketdock.sandbox.containers import Container
from pocketdock.sandbox.instances import STATE_DIR
from pocketdock.spec.effective import SyncRule
from pocketdock.watch.events import ENGINE_GONE

logger = logging.getLogger("pocketdock.watch.filesync")

IGNORE_FILE = ".gitignore"
# The repository and pocketdock's own state next to the project file are never synced.
ALWAYS_IGNORED = frozenset({".git", STATE_DIR})
# Keep each command line the container runs well under the kernel's argument limit.
MAX_ARGV_BYTES = 96 * 1024

# Only regular files are hashed: reading a FIFO or a link to /dev/zero would never end.
# The arguments are filtered in place (each original is shifted off, kept ones appended).
_HASH_SCRIPT = (
    'cd "$1" 2>/dev/null || exit 0; shift; n=$#; while [ "$n" -gt 0 ]; do f=$1; shift; '
    'n=$((n - 1)); if [ -f "$f" ] && [ ! -L "$f" ]; then set -- "$@" "$f"; fi; done; '
    '[ "$#" -gt 0 ] && sha256sum "$@" 2>/dev/null; exit 0'
)
# Seconds one hashing command may take; past that everything is sent instead.
HASH_TIMEOUT = 120.0


# ---------------------------------------------------------------------------- .gitignore


@dataclass(frozen=True)
class IgnorePattern:
    """One line of a `.gitignore`, compiled."""

    regex: re.Pattern[str]
    negate: bool
    dir_only: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and self.regex.match(rel) is not None


def parse_gitignore(text: str) -> list[IgnorePattern]:
    """The patterns of a `.gitignore` file's text, in file order."""
    patterns = []
    for raw in text.splitlines():
        pattern = _compile_line(raw)
        if pattern is not None:
            patterns.append(pattern)
    return patterns


def _compile_line(line: str) -> IgnorePattern | None:
    line = line.rstrip(" \t\r")
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.removeprefix("/")
    body = _translate_path(line)
    prefix = "" if anchored else "(?:.*/)?"
    return IgnorePattern(re.compile(f"^{prefix}{body}$", re.DOTALL), negate, dir_only)


def _translate_path(pattern: str) -> str:
    parts = pattern.split("/")
    out = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            if not last:
                out.append("(?:.*/)?")  # zero or more whole directories
            else:
                out.append(".*" if index == 0 else ".+")  # everything inside
            continue
        out.append(_translate_segment(part))
        if not last:
            out.append("/")
    return "".join(out)


def _translate_segment(segment: str) -> str:
    out = []
    i, n = 0, len(segment)
    while i < n:
        char = segment[i]
        if char == "\\" and i + 1 < n:
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            while i < n and segment[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            end, cls = _bracket(segment, i)
            if cls is not None:
                out.append(cls)
                i = end
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _bracket(segment: str, start: int) -> tuple[int, str | None]:
    """A `[...]` class starting at `start`: (index after it, regex), or (start, None)."""
    i = start + 1
    negate = i < len(segment) and segment[i] in "!^"
    if negate:
        i += 1
    body_start = i
    if i < len(segment) and segment[i] == "]":
        i += 1  # a `]` right after the opening is a literal member
    while i < len(segment) and segment[i] != "]":
        i += 2 if segment[i] == "\\" else 1
    if i >= len(segment):
        return start, None
    members = []
    j = body_start
    while j < i:
        char = segment[j]
        if char == "\\" and j + 1 < i:
            members.append(re.escape(segment[j + 1]))
            j += 2
            continue
        members.append(char if char == "-" else re.escape(char))
        j += 1
    return i + 1, f"(?!/)[{'^' if negate else ''}{''.join(members)}]"


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one `.gitignore` and the directory they are relative to."""

    base: Path
    patterns: tuple[IgnorePattern, ...]

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        """True ignored, False re-included by `!`, None when no pattern matches."""
        rel = path.relative_to(self.base).as_posix()
        for pattern in reversed(self.patterns):
            if pattern.matches(rel, is_dir):
                return not pattern.negate
        return None


def load_ignore_file(directory: Path) -> IgnoreFile | None:
    """The `.gitignore` of `directory`, None when it has none.

    Raises `ScanError` when there is one that cannot be read: going on without its
    patterns would send the very files it keeps out of the sandbox.
    """
    path = directory / IGNORE_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None  # none there, or not a file git would read either
    except OSError as exc:
        raise ScanError(f"cannot read {path}: {exc.strerror or exc}") from exc
    patterns = parse_gitignore(text)
    return IgnoreFile(directory, tuple(patterns)) if patterns else None


def is_ignored(stack: Sequence[IgnoreFile], path: Path, is_dir: bool) -> bool:
    """Whether `path` is ignored; `stack` holds the applicable files, outermost first."""
    if path.name in ALWAYS_IGNORED:
        return True
    for ignore in reversed(stack):  # a deeper file overrides a shallower one
        verdict = ignore.verdict(path, is_dir)
        if verdict is not None:
            return verdict
    return False


def ancestor_ignores(source: Path, root: Path | None) -> list[IgnoreFile]:
    """The `.gitignore` files from `root` down to `source`'s parent, outermost first."""
    if root is None or not source.is_relative_to(root) or source == root:
        return []
    directories = [root]
    for part in source.relative_to(root).parts[:-1]:
        directories.append(directories[-1] / part)
    found = [load_ignore_file(d) for d in directories]
    return [f for f in found if f is not None]


# ---------------------------------------------------------------------------- host scan


@dataclass(frozen=True)
class HostEntry:
    """A file or symlink under a synced directory."""

    kind: Literal["file", "link"]
    mode: int  # permission bits
    digest: str  # sha256 of the content; for a link, of its target text
    link: str = ""
    identity: tuple[int, int] = (0, 0)  # (st_dev, st_ino) of the file that was hashed


StatKey = tuple[int, int, int, int, int]


def _stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_mode)


class ScanError(PocketDockError):
    """A directory under a synced source could not be listed; the scan is incomplete."""


def _walk(
    directory: Path, rel: str, stack: list[IgnoreFile], skipped: list[str]
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """The files and links below `directory`; names that are not UTF-8 go to `skipped`.

    Raises `ScanError` when a directory cannot be listed, because a partial listing
    would make everything below it look deleted, and when a `.gitignore` cannot be
    read. A subdirectory that vanished since its parent was listed is simply gone.
    """
    own = load_ignore_file(directory)
    if own is not None:
        stack = [*stack, own]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except FileNotFoundError:
        if not rel:
            raise ScanError(f"sync source {directory} vanished") from None
        return
    except OSError as exc:
        raise ScanError(f"cannot read directory {directory}: {exc.strerror or exc}") from exc
    for entry in entries:
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished while scanning
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_ignored(stack, path, is_dir):
            continue
        child = f"{rel}/{entry.name}" if rel else entry.name
        if not _is_utf8(entry.name):
            # The engine's API carries paths as JSON strings, so the name cannot be
            # named in a command in the container.
            skipped.append(child)
            continue
        if is_dir:
            yield from _walk(path, child, stack, skipped)
        elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            yield child, path, st


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogates by os.scandir
        return False
    return True


def printable(rel: str) -> str:
    """A path that may hold undecodable bytes, with those shown as `\\xNN`."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_regular(path: Path, identity: tuple[int, int]) -> tuple[bytes, os.stat_result] | None:
    """The contents of `path` if it is still the regular file (st_dev, st_ino) `identity`.

    Opened without following a symlink and without blocking on a FIFO, so a file
    swapped for either since it was listed is never read through; None then.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        return None  # gone, or now a symlink (ELOOP)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != identity:
            return None
        return handle.read(), st


class HostScanner:
    """Lists a synced directory with content hashes, re-hashing only what changed."""

    def __init__(self, source: Path, ignore_root: Path | None = None) -> None:
        self.source = source
        self.ignore_root = ignore_root
        self._cache: dict[str, tuple[StatKey, HostEntry]] = {}
        self.skipped: list[str] = []  # names of the last scan that are not UTF-8

    def scan(self, changed: Iterable[str] = ()) -> dict[str, HostEntry]:
        """Every file and link not ignored, by path relative to the source, posix style.

        Files whose size, mtime, inode and mode are unchanged keep their cached hash,
        unless their relative path is in `changed` (what the file watcher reported).
        Names that are not UTF-8 are left out and listed in `skipped`. Raises
        `ScanError` when a directory cannot be listed.
        """
        forced = set(changed)
        stack = ancestor_ignores(self.source, self.ignore_root)
        found: dict[str, HostEntry] = {}
        cache: dict[str, tuple[StatKey, HostEntry]] = {}
        skipped: list[str] = []
        for rel, path, st in _walk(self.source, "", stack, skipped):
            key = _stat_key(st)
            cached = self._cache.get(rel)
            if cached is not None and cached[0] == key and rel not in forced:
                entry: HostEntry | None = cached[1]
            else:
                entry = _host_entry(path, st)
            if entry is not None:
                found[rel] = entry
                cache[rel] = (key, entry)
        self._cache = cache
        self.skipped = skipped
        return found


def _host_entry(path: Path, st: os.stat_result) -> HostEntry | None:
    mode = stat.S_IMODE(st.st_mode)
    try:
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            return HostEntry("link", mode, _digest(os.fsencode(target)), target)
    except OSError:
        return None  # vanished or unreadable; the next scan sees it again
    identity = (st.st_dev, st.st_ino)
    read = read_regular(path, identity)
    if read is None:
        return None  # changed kind since it was listed; the next scan sees it again
    return HostEntry("file", mode, _digest(read[0]), identity=identity)


# ---------------------------------------------------------------------------- one rule


@dataclass(frozen=True)
class Sent:
    """What the container holds at a path, as far as this process knows."""

    digest: str
    mode: int | None  # None: read back from the container, mode not compared


@dataclass(frozen=True)
class SyncReport:
    """One batch copied into one sandbox's target directory."""

    sandbox: str
    target: str
    sent: int
    deleted: int
    seconds: float
    initial: bool = False

    def __str__(self) -> str:
        ms = round(self.seconds * 1000)
        where = f"{self.sandbox}:{self.target}"
        sent, deleted = _count(self.sent, "file"), _count(self.deleted, "path")
        if self.sent and self.deleted:
            return f"synced {sent}, deleted {deleted} in {where} ({ms} ms)"
        if self.deleted:
            return f"deleted {deleted} in {where} ({ms} ms)"
        return f"synced {sent} to {where} ({ms} ms)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class RuleSync:
    """Keeps one `sync` rule of one sandbox in step with one container."""

    def __init__(
        self,
        client: EngineClient,
        sandbox: str,
        rule: SyncRule,
        *,
        ignore_root: Path | None = None,
    ) -> None:
        self.client = client
        self.sandbox = sandbox
        self.source = Path(rule.source)
        self.target = posixpath.normpath(rule.target)
        self.scanner = HostScanner(self.source, ignore_root)
        self.container_id: str | None = None
        self.manifest: dict[str, Sent] = {}
        # Host paths deleted but not yet removed from container `_pending_in`. Kept
        # across `forget`, since comparing by content only looks at the host's files.
        self.pending: set[str] = set()
        self._pending_in: str | None = None

    def forget(self) -> None:
        """Drop what is known about the container; the next sync compares by content."""
        self.container_id = None
        self.manifest = {}

    def sync(self, container_id: str, changed: Iterable[str] = ()) -> SyncReport | None:
        """Bring the container's copy up to date; None when it already was.

        Raises `FileNotFoundError` when the source directory is missing (nothing is
        deleted then), and the engine's errors as they come.
        """
        started = time.perf_counter()
        if not self.source.is_dir():
            raise FileNotFoundError(f"sync source {self.source} is not a directory")
        host = self.scanner.scan(changed)
        initial = container_id != self.container_id
        if initial:
            self.forget()
            if self._pending_in != container_id:
                self.pending = set()  # a new container never held them
            self.manifest = self._read_back(container_id, host)
            self.container_id = container_id

        to_send = [rel for rel, entry in host.items() if not self._holds(rel, entry)]
        gone = sorted({*self.manifest, *self.pending} - host.keys())
        deletes = self._deletions(gone)
        # A path that still exists on the host but is now ignored is left alone, and
        # forgotten like the deleted ones; the others stay pending until removed.
        for rel in gone:
            self.manifest.pop(rel, None)
        self.pending, self._pending_in = set(gone), container_id
        if not to_send and not deletes:
            self.pending = set()
            return None

        try:
            # Deleting first lets a path change kind: a file that became a directory.
            if deletes:
                self._delete(container_id, deletes)
            self.pending = set()
            sent = self._send(container_id, host, to_send)
        except BaseException:
            self.forget()  # unsure what arrived; compare by content next time
            raise
        seconds = time.perf_counter() - started
        return SyncReport(self.sandbox, self.target, sent, len(deletes), seconds, initial)

    def _holds(self, rel: str, entry: HostEntry) -> bool:
        known = self.manifest.get(rel)
        if known is None or known.digest != entry.digest:
            return False
        return known.mode is None or known.mode == entry.mode

    def _deletions(self, gone: Iterable[str]) -> list[str]:
        """Container paths to remove: the topmost vanished directory, else the file."""
        tops: set[str] = set()
        for rel in gone:
            path = self.source / rel
            if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
                continue  # still there, now ignored
            top, parent = rel, posixpath.dirname(rel)
            while parent and not os.path.lexists(self.source / parent):
                top, parent = parent, posixpath.dirname(parent)
            tops.add(top)
        return sorted(t for t in tops if not any(a in tops for a in _ancestors(t)))

    def _send(self, container_id: str, host: Mapping[str, HostEntry], rels: list[str]) -> int:
        if not rels:
            return 0
        archive, sent = _archive(self.source, self.target, host, rels)
        if sent:
            self.client.put_archive(container_id, "/", archive)
            self.manifest.update(sent)
        return len(sent)

    def _delete(self, container_id: str, rels: list[str]) -> None:
        paths = [posixpath.join(self.target, rel) for rel in rels]
        result = self._container(container_id).run(["rm", "-rf", "--", *paths])
        if not result.ok:
            raise PocketDockError(
                f"failed to delete in {self.sandbox}:{self.target}: {result.stderr.strip()}"
            )

    def _read_back(self, container_id: str, host: Mapping[str, HostEntry]) -> dict[str, Sent]:
        """Hashes of the container's copies of the host's regular files."""
        files = [rel for rel, entry in host.items() if entry.kind == "file"]
        known: dict[str, Sent] = {}
        container = self._container(container_id)
        for batch in _batches(files, MAX_ARGV_BYTES):
            argv = ["sh", "-c", _HASH_SCRIPT, "sh", self.target, *(f"./{r}" for r in batch)]
            try:
                result = container.run(argv, timeout=HASH_TIMEOUT)
            except ENGINE_GONE:
                raise
            except PocketDockError as exc:
                logger.info("cannot hash files in %s: %s; sending all", self.sandbox, exc)
                return {}
            known.update(_parse_sums(result.stdout))
        return known

    def _container(self, container_id: str) -> Container:
        return Container(self.client, id=container_id, name=self.sandbox, persist=False, project="")


def _ancestors(rel: str) -> Iterator[str]:
    parent = posixpath.dirname(rel)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def _parse_sums(output: str) -> dict[str, Sent]:
    sums: dict[str, Sent] = {}
    for line in output.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64 and name.startswith("./"):
            sums[name[2:]] = Sent(digest, None)
    return sums


def _batches(items: list[str], limit: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for item in items:
        cost = len(os.fsencode(item)) + 4
        if batch and size + cost > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += cost
    if batch:
        yield batch


def _archive(
    source: Path, target: str, host: Mapping[str, HostEntry], rels: list[str]
) -> tuple[bytes, dict[str, Sent]]:
    """A tar of `rels` under `target` (relative to the container's `/`), and its manifest.

    Files are read once here and hashed as read, so the manifest describes exactly the
    bytes sent even when a file changed since the scan.
    """
    buffer = io.BytesIO()
    sent: dict[str, Sent] = {}
    prefix = target.strip("/")
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in rels:
            entry = host[rel]
            info = tarfile.TarInfo(f"{prefix}/{rel}" if prefix else rel)
            info.mode = entry.mode
            data = _member_data(source / rel, entry, info)
            if data is None:
                continue  # vanished or swapped since the scan; the next scan sees it
            tar.addfile(info, io.BytesIO(data) if entry.kind == "file" else None)
            sent[rel] = Sent(_digest(data) if entry.kind == "file" else entry.digest, entry.mode)
    return buffer.getvalue(), sent


def _member_data(path: Path, entry: HostEntry, info: tarfile.TarInfo) -> bytes | None:
    """Fill in `info` for `entry`; the file's bytes (b"" for a link), None to skip it."""
    if entry.kind == "link":
        try:
            info.mtime = path.lstat().st_mtime
        except OSError:
            return None
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link
        return b""
    # Only the very file that was scanned is sent: had it become a symlink, reading
    # through it would copy whatever it points at on the host into the sandbox.
    read = read_regular(path, entry.identity)
    if read is None:
        return None
    data, st = read
    info.mtime = st.st_mtime
    info.size = len(data)
    return data


# ---------------------------------------------------------------------------- all rules


@dataclass(frozen=True)
class SyncFailure:
    """A rule that could not be synced this time."""

    sandbox: str
    target: str
    error: str

    def __str__(self) -> str:
        return f"failed to sync {self.sandbox}:{self.target}: {self.error}"


@dataclass
class FileSync:
    """Every `sync` rule of a project, each with its own `RuleSync`.

    `set_rules` is called with each valid spec; rules that stay keep what they know.
    A rule that keeps failing the same way is reported once, until it works again;
    so are the file names a rule skips because they are not UTF-8.
    """

    client: EngineClient
    ignore_root: Path | None = None
    rules: dict[tuple[str, str, str], RuleSync] = field(default_factory=dict)
    _failing: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _skipping: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def set_rules(self, rules: Mapping[str, Sequence[SyncRule]]) -> None:
        wanted = {
            (sandbox, rule.source, rule.target): rule
            for sandbox, sandbox_rules in rules.items()
            for rule in sandbox_rules
        }
        self.rules = {
            key: self.rules.get(key)
            or RuleSync(self.client, key[0], rule, ignore_root=self.ignore_root)
            for key, rule in wanted.items()
        }
        self._failing = {k: v for k, v in self._failing.items() if k in self.rules}
        self._skipping = {k: v for k, v in self._skipping.items() if k in self.rules}

    def sources(self) -> set[Path]:
        return {r.source for r in self.rules.values()}

    def sync(
        self, containers: Mapping[str, str], changed: Iterable[Path] | None = None
    ) -> list[SyncReport | SyncFailure]:
        """Sync every rule whose sandbox has a running container (`containers`: name -> id).

        With `changed` (paths the file watcher reported) only the rules whose source
        holds one of them are looked at. The errors in `ENGINE_GONE` propagate; any
        other failure is reported per rule.
        """
        paths = None if changed is None else [Path(p) for p in changed]
        results: list[SyncReport | SyncFailure] = []
        for key, rule in self.rules.items():
            container_id = containers.get(rule.sandbox)
            if container_id is None:
                continue
            hints: list[str] = []
            if paths is not None:
                hints = [
                    p.relative_to(rule.source).as_posix()
                    for p in paths
                    if p.is_relative_to(rule.source)
                ]
                if not hints:
                    continue
            result = self._one(key, rule, container_id, hints)
            if result is not None:
                results.append(result)
            skipped = self._skipped(key, rule)
            if skipped is not None:
                results.append(skipped)
        return results

    def _one(
        self, key: tuple[str, str, str], rule: RuleSync, container_id: str, hints: list[str]
    ) -> SyncReport | SyncFailure | None:
        try:
            report = rule.sync(container_id, hints)
        except ENGINE_GONE:
            raise
        except (PocketDockError, OSError, UnicodeError) as exc:
            error = str(exc)
            if self._failing.get(key) == error:
                return None
            self._failing[key] = error
            return SyncFailure(rule.sandbox, rule.target, error)
        self._failing.pop(key, None)
        return report

    def _skipped(self, key: tuple[str, str, str], rule: RuleSync) -> SyncFailure | None:
        """One report when a rule starts skipping names that are not UTF-8."""
        names = rule.scanner.skipped
        if not names:
            self._skipping.pop(key, None)
            return None
        if key in self._skipping:
            return None
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        error = f"skipped a name that is not UTF-8: {printable(names[0])}{more}"
        self._skipping[key] = error
        return SyncFailure(rule.sandbox, rule.target, error)
