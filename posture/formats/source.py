"""Files as people hand them over: plain or gzip-compressed text, a zip export, or one file of a set.

Bytes become text here, once: gzip is recognised by its magic bytes (not its name, `.csv.gz` or not), a zip
export by its own, and anything else that is not text (an image or random bytes renamed `.csv`) is refused
with one line. A gzip stream that ends early (a logger killed mid-write) gives the text it holds; the reader
then drops the incomplete last row (`posture.formats.rows`).

A `Bundle` is the set of files a reader may combine: the folder around a plain file (MetaBase and Polar write
the accelerometer and the gyroscope to two files side by side), or the members of a zip export (phyphox,
Sensor Logger).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from processing.errors import InvalidSamplesError

__all__ = ["Bundle", "TextFile", "decode", "open_bundle"]

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
#: Signatures of files people mistake for recordings, to name them in the error.
KNOWN_BINARY = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"SQLite format 3\x00": "an SQLite database (Sensor Logger's .sqlite export? export as zip instead)",
    b"\x7fELF": "a program",
    b"PK\x05\x06": "an empty zip archive",
}
#: Text with more than this share of control characters (other than tab and line ends) is binary.
MAX_CONTROL_SHARE = 0.01
#: Bytes looked at to tell text from binary and to sniff a header.
SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class TextFile:
    """One decoded file.

    Attributes
    ----------
    name : str
        File name for messages (a zip member is `archive.zip/member.csv`).
    text : str
        The content, byte-order mark removed.
    interrupted : bool
        The compressed stream ended early: the last line may be cut even if it looks complete.
    """

    name: str
    text: str
    interrupted: bool = False

    @property
    def first_line(self) -> str:
        """The first line that is not blank (the header), "" for an empty file."""
        return _first_line(self.text)


def decode(data: bytes, name: str) -> TextFile:
    """Bytes (gzip-compressed or not) as text; `InvalidSamplesError` (reason "format") for binary data."""
    interrupted = False
    if data.startswith(GZIP_MAGIC):
        data, interrupted = _gunzip(data, name)
    if data.startswith(ZIP_MAGIC):
        raise InvalidSamplesError(
            f"{name} is a zip archive inside a file that should hold text: unpack it and give the CSV inside",
            reason="format",
        )
    _refuse_binary(data, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # spreadsheets on Windows save in the local code page ("m/s²" in Latin-1): the numbers are ASCII
        text = data.decode("latin-1")
    return TextFile(name, text, interrupted)


def _gunzip(data: bytes, name: str) -> tuple[bytes, bool]:
    """Every member of a gzip stream; a stream cut short gives what it holds and True."""
    out: list[bytes] = []
    rest = data
    while rest.startswith(GZIP_MAGIC):
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            out.append(inflater.decompress(rest))
        except zlib.error as exc:
            raise InvalidSamplesError(
                f"{name} is gzip-compressed but damaged ({exc}): compress the recording again",
                reason="format",
            ) from exc
        if not inflater.eof:
            return b"".join(out), True
        rest = inflater.unused_data
    return b"".join(out), False


def _refuse_binary(data: bytes, name: str) -> None:
    head = data[:SNIFF_BYTES]
    kind = next((what for magic, what in KNOWN_BINARY.items() if head.startswith(magic)), None)
    if kind is None:
        controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
        if b"\x00" not in head and controls <= MAX_CONTROL_SHARE * max(len(head), 1):
            return
        kind = f"binary data (it starts with bytes {head[:8].hex(' ')})"
    raise InvalidSamplesError(
        f"{name} is not a text recording but {kind}: give the CSV the logger wrote (plain or .csv.gz) or the "
        "app's zip export",
        reason="format",
    )


@dataclass(frozen=True, slots=True)
class Bundle:
    """The files a reader may draw on.

    Attributes
    ----------
    name : str
        The path the user gave, for messages.
    primary : str or None
        The member the user pointed at (a plain file), None for a zip export.
    members : tuple of str
        Names the reader may open: the files in the primary's folder, or the zip's members.
    """

    name: str
    primary: str | None
    members: tuple[str, ...]
    _load: Callable[[str, int | None], bytes]
    #: Members decoded so far: recognition and the reader read the same file once.
    _decoded: dict[str, TextFile] = field(default_factory=dict)

    def open(self, member: str) -> TextFile:
        """The decoded text of one member."""
        if member not in self._decoded:
            self._decoded[member] = decode(self._load(member, None), self._label(member))
        return self._decoded[member]

    def first_line(self, member: str) -> str:
        """The first line of a member (header sniffing without reading a large file whole)."""
        try:
            head = self._load(member, SNIFF_BYTES)
            if head.startswith(GZIP_MAGIC):
                head = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(head)
        except (OSError, zlib.error, InvalidSamplesError):
            return ""  # not readable, so no header: the reader reports the file it needs and cannot read
        return _first_line(head.decode("utf-8-sig", errors="replace"))

    def _label(self, member: str) -> str:
        if self.primary is None:
            return f"{self.name}/{member}"
        return member


def _first_line(text: str) -> str:
    return next((line.strip("\r") for line in text.split("\n") if line.strip()), "")


def open_bundle(path: Path) -> Bundle:
    """The bundle of files around `path`: its folder, or its members when it is a zip archive."""
    with path.open("rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if head == ZIP_MAGIC:
        return _zip_bundle(path)
    folder = path.parent

    def load(member: str, limit: int | None) -> bytes:
        with (folder / member).open("rb") as f:
            return f.read() if limit is None else f.read(limit)

    siblings = sorted(p.name for p in folder.iterdir() if p.is_file())
    return Bundle(path.name, path.name, tuple(siblings), load)


def _zip_bundle(path: Path) -> Bundle:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise InvalidSamplesError(
            f"{path.name} is a damaged zip archive ({exc}): export it from the app again", reason="format"
        ) from exc
    # macOS adds resource forks (__MACOSX/._Accelerometer.csv) when it re-zips a folder: not recordings
    names = tuple(
        i.filename
        for i in infos
        if not i.filename.startswith("__MACOSX/") and not PurePosixPath(i.filename).name.startswith("._")
    )

    def load(member: str, limit: int | None) -> bytes:
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as f:
                return f.read() if limit is None else f.read(limit)
        # damaged (BadZipFile, zlib.error, EOFError), an unsupported compression method
        # (NotImplementedError) or encrypted (RuntimeError)
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, NotImplementedError, RuntimeError) as exc:
            raise InvalidSamplesError(
                f"{path.name}/{member} cannot be read from the zip archive ({exc}): export it from the app "
                "again (a plain zip, no password)",
                reason="format",
            ) from exc

    return Bundle(path.name, None, names, load)
