# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one policy for API keys and secrets, with the standard library only.

Private to this collection: the interface may change without notice.

- Key ids and secrets: ``KEY_ID_PATTERN``, ``MIN_SECRET_LENGTH``, ``key_problems()`` and
  ``secret_problems()`` (messages that never contain a secret), ``check_key_id()`` and
  ``check_secret()`` (the same rules, raising ValueError), ``generate_key_id()`` and ``generate_secret()``.
- ``redact()``: text without the given secrets and without JWTs.
- ``write_atomic()``: replace a file through a private temporary file in the same directory.
- ``KeyFile`` / ``read_key_file()``: the reader and editor of LiveKit key files.

Why these rules (checked against livekit-server v1.13.5, see docs/tokens-and-keys.md): the server
reads its key file as a YAML map of strings and takes any string as a key id, so the pattern is the
collection's choice, the widest set that needs no quoting in shells and URLs. The server logs
"secret is too short, should be at least 32 characters for security" for a shorter secret (and still
starts): the collection refuses what the server warns about, and uses the same floor for the TURN
secret and the Redis password.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets as _random
import string
import tempfile

KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,63}")  # whole string: fullmatch
KEY_ID_RULE = "3 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
MIN_SECRET_LENGTH = 32
KEY_ALPHABET = string.ascii_letters + string.digits
MASK = "********"

# What a secret may contain, by kind: an API secret fits on one line of the key file, the TURN secret
# is one token of turnserver.conf, the Redis password printable ASCII (redis.conf, URLs).
CHARSETS = {
    "line": (re.compile(r"[^\x00-\x1f\x7f]*"), "must be on one line (no line breaks or control characters)"),
    "token": (re.compile(r"\S*"), "must not contain whitespace"),
    "printable": (re.compile(r"[ -~]*"), "must contain printable ASCII characters only"),
}

# A JWT anywhere in a text: livekit-server repeats a refused token in its 401 message.
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s\"']+")
# With assignments=True: credentials in headers and `name=value` / `name: value` pairs of free text.
_ASSIGNMENTS = (
    re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s<]\S*"),
    re.compile(r"(?i)\b(access_token|token|api_secret|secret|password|passwd)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&<]+)"),
)


# -- key ids and secrets --------------------------------------------------------------------------

def key_id_problems(key):
    """Messages for a key id that the collection does not accept; empty when it is fine."""
    if isinstance(key, str) and KEY_ID_PATTERN.fullmatch(key):
        return []
    return ["key id %r must be %s" % (key, KEY_ID_RULE)]


def secret_problems(secret, name="the secret", charset="line"):
    """Messages for a secret that is missing, too short or has characters ``charset`` forbids.

    ``name`` says which secret in the message (a variable name, "the secret of key id 'X'").
    No message contains the secret or tells its length.
    """
    if charset not in CHARSETS:
        raise ValueError("charset must be one of %s, got %r" % (", ".join(sorted(CHARSETS)), charset))
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return ["%s must be a string of at least %d characters" % (name, MIN_SECRET_LENGTH)]
    pattern, rule = CHARSETS[charset]
    return [] if pattern.fullmatch(secret) else ["%s %s" % (name, rule)]


def key_problems(keys, name="the API keys"):
    """Messages for a map of key id -> secret: at least one key, valid ids, valid secrets."""
    if not isinstance(keys, dict) or not keys:
        return ["%s must map at least one API key id to a secret of at least %d characters"
                % (name, MIN_SECRET_LENGTH)]
    problems = []
    for key, secret in keys.items():
        problems += key_id_problems(key)
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            problems.append("key id %r must map to a secret of at least %d characters" % (key, MIN_SECRET_LENGTH))
        else:
            problems += secret_problems(secret, "the secret of key id %r" % (key,))
    return problems


def check_key_id(key):
    """Raise ValueError when ``key`` is not a key id the collection accepts."""
    problems = key_id_problems(key)
    if problems:
        raise ValueError("an API " + problems[0])


def check_secret(secret):
    """Raise ValueError for a secret that is too short or not on one line. Never shows the secret."""
    problems = secret_problems(secret, "an API secret")
    if problems:
        hint = "; leave secret unset to generate one" if "at least" in problems[0] else ""
        raise ValueError(problems[0] + hint)


def generate_key_id():
    """A new API key id: ``API`` followed by 12 random letters and digits."""
    return "API" + "".join(_random.choice(KEY_ALPHABET) for dummy in range(12))


def generate_secret(length=43):
    """A new API secret from ``secrets``: by default 43 letters and digits (~256 bits)."""
    if length < MIN_SECRET_LENGTH:
        raise ValueError("an API secret needs at least %d characters" % MIN_SECRET_LENGTH)
    return "".join(_random.choice(KEY_ALPHABET) for dummy in range(length))


# -- redaction ------------------------------------------------------------------------------------

def redact(text, secrets=(), mask=MASK, assignments=False):
    """``text`` (any object, as text) with each given secret, each JWT and each ``access_token=``
    value replaced by ``mask``. Longer secrets are replaced first, so none is left half masked.

    ``assignments=True`` also masks what follows ``Bearer``/``Basic`` and ``secret=``, ``password:``
    and the like, for free text such as a load test's error messages (not for messages that name
    options, where "api_secret: ..." is prose).
    """
    text = "" if text is None else str(text)
    for secret in sorted((s for s in secrets if isinstance(s, str) and s), key=len, reverse=True):
        text = text.replace(secret, mask)
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + mask, text)
    text = JWT_PATTERN.sub(mask, text)
    if assignments:
        for pattern in _ASSIGNMENTS:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + mask, text)
    return text


# -- atomic writes --------------------------------------------------------------------------------

def write_atomic(path, data, mode=0o600, keep_owner=True):
    """Replace ``path`` with ``data`` (str or bytes) so that a reader sees the old or the new file.

    The temporary file is created in the same directory with ``mode`` (and, with ``keep_owner``,
    the owner and group of the file it replaces) before any content is written; then fsync and rename.
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    old = os.stat(path) if keep_owner and os.path.exists(path) else None
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):  # not root: the new file is ours, as with any write
                os.fchown(fd, old.st_uid, old.st_gid)
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


# -- key files ------------------------------------------------------------------------------------
# livekit-server reads key_file as a YAML map of key id -> secret. The reader below understands the
# one-level maps people and tools write (`KEY: secret` lines with plain, 'single' or "double" quoted
# scalars, comments, blank lines, a leading ---, an empty `{}`) without PyYAML, and keeps the lines it
# does not change.

_YAML_WORDS = ("true", "false", "yes", "no", "on", "off", "y", "n", "null", "~")
_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")
_NUMBER = re.compile(r"^(?:[0-9_]+|0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[0-9]+e[0-9]+)$", re.I)


def yaml_scalar(value):
    """``value`` as a YAML scalar: plain when that reads back as the same string, else single-quoted."""
    if _PLAIN.match(value) and not _NUMBER.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return "'%s'" % value.replace("'", "''")


class KeyFileError(ValueError):
    """A key file this reader cannot read; the message names the line, never a secret."""


def _scalar(text, line_no, what):
    """Read one scalar at the start of ``text``; return (value, rest)."""
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise KeyFileError("line %d: unterminated quoted %s" % (line_no, what))
            if text[end + 1:end + 2] == "'":
                end += 2
                continue
            return text[1:end].replace("''", "'"), text[end + 1:]
    if text.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if not match:
            raise KeyFileError("line %d: unterminated quoted %s" % (line_no, what))
        try:
            return json.loads(match.group(0)), text[match.end():]
        except ValueError:
            raise KeyFileError("line %d: unsupported escape in a double-quoted %s" % (line_no, what)) from None
    if text[0] in "[]{}&*!|>%@`," or (text[0] in "-?:" and text[1:2] in ("", " ", "\t")):
        raise KeyFileError("line %d: only one-level maps of `KEY: secret` are supported" % line_no)
    if what == "key":
        match = re.match(r"(.*?):(\s|$)", text)
        if not match:
            raise KeyFileError("line %d: expected `KEY: secret`" % line_no)
        return match.group(1).rstrip(), text[match.end(1):]
    value = re.split(r"\s#", text, maxsplit=1)[0].rstrip()
    if ": " in value or value.endswith(":"):
        raise KeyFileError("line %d: quote a secret that contains ': '" % line_no)
    return value, ""


class KeyFile:
    """The keys of a LiveKit key file, editable while keeping comments and untouched lines."""

    def __init__(self, text=""):
        self.lines = text.splitlines()
        self._index = {}       # key id -> line number (0-based)
        self._secrets = {}
        self._empty_map = None  # the line of a `{}` document, dropped when a key is added
        for n, line in enumerate(self.lines):
            self._read_line(n, line)

    def _read_line(self, n, line):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            return
        if stripped.split("#", 1)[0].strip() == "{}" and not self._index:
            self._empty_map = n
            return
        if line[0].isspace():
            raise KeyFileError("line %d: indented lines are not supported; expected `KEY: secret`" % (n + 1))
        key, rest = _scalar(line, n + 1, "key")
        rest = rest.lstrip()
        if not rest.startswith(":"):
            raise KeyFileError("line %d: expected `KEY: secret`" % (n + 1))
        rest = rest[1:].strip()
        secret, tail = _scalar(rest, n + 1, "secret") if rest and not rest.startswith("#") else ("", "")
        tail = tail.strip()
        if tail and not tail.startswith("#"):
            raise KeyFileError("line %d: unexpected text after the secret" % (n + 1))
        if not key:
            raise KeyFileError("line %d: empty key id" % (n + 1))
        if not secret or (secret.lower() in ("null", "~") and not rest.startswith(("'", '"'))):
            raise KeyFileError("line %d: key %s has no secret" % (n + 1, key))
        if key in self._index:
            raise KeyFileError("line %d: key %s is defined twice (livekit-server refuses duplicate keys)"
                               % (n + 1, key))
        self._index[key] = n
        self._secrets[key] = secret

    @property
    def keys(self):
        """Key ids in file order."""
        return sorted(self._index, key=self._index.get)

    def secret(self, key):
        return self._secrets.get(key)

    def as_dict(self):
        """Key id -> secret, in file order."""
        return dict((key, self._secrets[key]) for key in self.keys)

    def __contains__(self, key):
        return key in self._index

    def set(self, key, secret):
        """Add ``key`` at the end, or replace its secret in place."""
        check_key_id(key)
        line = "%s: %s" % (yaml_scalar(key), yaml_scalar(secret))
        if key in self._index:
            self.lines[self._index[key]] = line
        else:
            if self._empty_map is not None:
                self.lines[self._empty_map] = None
                self._empty_map = None
            self._index[key] = len(self.lines)
            self.lines.append(line)
        self._secrets[key] = secret

    def remove(self, key):
        self.lines[self._index.pop(key)] = None
        del self._secrets[key]

    def text(self):
        lines = [line for line in self.lines if line is not None]
        return "\n".join(lines) + "\n" if lines else ""


def read_key_file(path):
    """The ``KeyFile`` at ``path``; OSError when it cannot be read, KeyFileError when it is not a key file."""
    with open(path, encoding="utf-8") as f:
        return KeyFile(f.read())
