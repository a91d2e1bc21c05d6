"""The files of a request: their names, encodings and sizes. Pure.

A file is text (`utf8`) or bytes given in base64. Base64 that decodes to UTF-8 text becomes a text
file (it is then validated and, if it is a source file, compiled, like any other); other bytes
make a data file, which may not be a source file of the language (the code validator reads text).
"""

from __future__ import annotations

import base64
import binascii
import re

from lib.codes import ErrorCode
from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge
from lib.languages import BINARY, Language
from lib.protocol import JobRequest, SourceFile

FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({BINARY})


def check_filename(name: str) -> str:
    if not FILENAME_RE.fullmatch(name) or ".." in name or name in RESERVED_NAMES:
        raise InvalidRequest(
            f"invalid file name {name[:70]!r}: use 1-64 of A-Z a-z 0-9 _ . -, not starting "
            f"with . or -, no '..', and not {', '.join(sorted(RESERVED_NAMES))}",
            code=ErrorCode.INVALID_FILENAME,
        )
    return name


def file_bytes(f: SourceFile) -> bytes:
    """The file's content as the sandbox gets it; InvalidRequest for bad base64 or text that
    UTF-8 cannot carry (a lone surrogate)."""
    if f.encoding == "base64":
        try:
            return base64.b64decode(f.content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest(f"file {f.name[:70]!r} is not valid base64") from exc
    try:
        return f.content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(f"file {f.name[:70]!r} is not valid Unicode (lone surrogate)") from exc


def as_text(f: SourceFile, lang: Language) -> SourceFile:
    """A base64 file that is UTF-8 text, as text; a binary one, checked not to be a source."""
    if f.encoding != "base64":
        return f
    data = file_bytes(f)
    try:
        return SourceFile(name=f.name, content=data.decode("utf-8"))
    except UnicodeDecodeError:
        if f.name.endswith(lang.source_suffixes):
            raise InvalidRequest(
                f"file {f.name[:70]!r} has a {lang.name} source name but is not UTF-8 text",
                code=ErrorCode.INVALID_FILENAME,
            ) from None
        return f


def collect_files(msg: JobRequest, lang: Language) -> tuple[str, list[SourceFile]]:
    """The entry file name and the full file list of a request."""
    files = [as_text(f, lang) for f in msg.files or []]
    if msg.code is not None:
        files.insert(0, SourceFile(name=msg.filename or lang.default_file, content=msg.code))
        main = files[0].name
    elif files:
        main = msg.filename or files[0].name
    else:
        raise InvalidRequest("the request has neither `code` nor `files`")
    names = [check_filename(f.name) for f in files]
    if len(set(names)) != len(names):
        raise InvalidRequest("two files have the same name", code=ErrorCode.INVALID_FILENAME)
    if main not in names:
        raise InvalidRequest(f"`filename` {main[:70]!r} is not among `files`")
    if next(f for f in files if f.name == main).encoding != "utf8":
        raise InvalidRequest(f"the entry file {main[:70]!r} must be UTF-8 text")
    if lang.compiled and not main.endswith(lang.source_suffixes):
        raise InvalidRequest(
            f"the {lang.name} entry file must end with {' or '.join(lang.source_suffixes)}",
            code=ErrorCode.INVALID_FILENAME,
        )
    return main, files


def check_sizes(files: list[SourceFile], settings: Settings) -> None:
    if len(files) > settings.max_files:
        raise MessageTooLarge(f"at most {settings.max_files} files", code=ErrorCode.CODE_TOO_LARGE)
    total = 0
    for f in files:
        size = len(file_bytes(f))
        if size > settings.max_file_kb * 1024:
            raise MessageTooLarge(
                f"file {f.name!r} is over {settings.max_file_kb} KB",
                code=ErrorCode.CODE_TOO_LARGE,
            )
        total += size
    if total > settings.max_code_kb * 1024:
        raise MessageTooLarge(
            f"the files are over {settings.max_code_kb} KB in total", code=ErrorCode.CODE_TOO_LARGE
        )
