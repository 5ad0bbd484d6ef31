"""The key and secret policy (_secrets.py): key ids, secret length, redaction, the atomic writer, the key
file reader, and the filters the role preflights call."""

import os
import re
import stat

import pytest
import yaml

from ansible_collections.rtcstack.livekit.plugins.filter import secret_policy
from ansible_collections.rtcstack.livekit.plugins.module_utils import _secrets
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import (
    KEY_ALPHABET,
    MASK,
    MIN_SECRET_LENGTH,
    KeyFile,
    KeyFileError,
    check_key_id,
    check_secret,
    generate_key_id,
    generate_secret,
    key_problems,
    read_key_file,
    redact,
    secret_problems,
    write_atomic,
    yaml_scalar,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token

SECRET = "unit-secret-0123456789abcdefghijklmnop"


# -- key ids --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "APIw8Vq2hJm4Kx1", "abc", "api.key-1", "lab.sfu.2026", "a_b", "0ab", "A" * 64, "with-dash_", "end."])
def test_key_ids_the_policy_accepts(key):
    check_key_id(key)
    assert key_problems({key: SECRET}) == []


@pytest.mark.parametrize("key", [
    "ab", "A" * 65, "abc\n", ".abc", "-abc", "_abc", "has space", "a:b", "a#b", "a/b", "ключ", "", None, 123])
def test_key_ids_the_policy_refuses(key):
    with pytest.raises(ValueError, match=re.escape("an API key id %r must be 3 to 64 letters, digits, '_', '.' or '-'" % (key,))):
        check_key_id(key)
    assert key_problems({key: SECRET}) == [
        "key id %r must be 3 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit" % (key,)]


def test_generated_key_ids_and_secrets_follow_the_policy():
    ids = set(generate_key_id() for dummy in range(200))
    assert len(ids) == 200
    for key in ids:
        assert key.startswith("API") and len(key) == 15 and all(c in KEY_ALPHABET for c in key)
        check_key_id(key)
    secret = generate_secret()
    assert len(secret) == 43 and all(c in KEY_ALPHABET for c in secret)
    check_secret(secret)
    assert len(generate_secret(64)) == 64
    with pytest.raises(ValueError, match="at least 32 characters"):
        generate_secret(MIN_SECRET_LENGTH - 1)


# -- secrets --------------------------------------------------------------------------------------

def test_min_secret_length_is_32():
    assert MIN_SECRET_LENGTH == 32
    check_secret("s" * 32)
    assert secret_problems("s" * 32) == []
    with pytest.raises(ValueError, match="an API secret must be a string of at least 32 characters; leave secret unset"):
        check_secret("s" * 31)
    assert secret_problems("s" * 31, "redis_password") == ["redis_password must be a string of at least 32 characters"]


@pytest.mark.parametrize("secret, charset, problem", [
    ("s" * 40 + "\n", "line", "must be on one line"),
    ("s" * 40 + "\x7f", "line", "must be on one line"),
    ("s" * 40 + " x", "line", None),
    ("s" * 40 + " x", "token", "must not contain whitespace"),
    ("s" * 40 + "\tx", "token", "must not contain whitespace"),
    ("s" * 40 + "#;'\"", "token", None),
    ("s" * 40 + " ~", "printable", None),
    ("s" * 40 + "\n", "printable", "must contain printable ASCII characters only"),
    ("s" * 40 + "\n", "token", "must not contain whitespace"),
    ("s" * 40 + "é", "printable", "must contain printable ASCII characters only"),
    (None, "line", "must be a string of at least 32 characters"),
    (12345678901234567890123456789012345, "token", "must be a string of at least 32 characters"),
])
def test_secret_charsets(secret, charset, problem):
    found = secret_problems(secret, "the_var", charset)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith("the_var " + problem)
        if isinstance(secret, str):
            assert secret not in found[0] and str(len(secret)) not in found[0]


def test_secret_charset_must_be_known():
    with pytest.raises(ValueError, match="charset must be one of line, printable, token"):
        secret_problems("s" * 40, charset="base64")


def test_key_problems_of_a_whole_map_never_show_a_secret():
    short, broken = "short-secret-value", "broken-secret-value-0123456789abcdef\nx"
    problems = key_problems({"APIgood00000001": SECRET, "APIshort0000001": short, "APIbroken000001": broken,
                             "APInone00000001": None, "bad id": SECRET}, "livekit_api_keys")
    assert problems == [
        "key id 'APIshort0000001' must map to a secret of at least 32 characters",
        "the secret of key id 'APIbroken000001' must be on one line (no line breaks or control characters)",
        "key id 'APInone00000001' must map to a secret of at least 32 characters",
        "key id 'bad id' must be 3 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
    ]
    text = "\n".join(problems)
    for secret in (short, broken, SECRET):
        assert secret not in text
    for empty in ({}, None, [], "APIx: y"):
        assert key_problems(empty, "livekit_api_keys") == [
            "livekit_api_keys must map at least one API key id to a secret of at least 32 characters"]


def test_filters_call_the_same_policy():
    filters = secret_policy.FilterModule().filters()
    assert filters["key_problems"]({"APIshort0000001": "x"}, "k") == key_problems({"APIshort0000001": "x"})
    assert filters["secret_problems"]("x", "coturn_static_auth_secret", "token") == [
        "coturn_static_auth_secret must be a string of at least 32 characters"]

    class Vaulted:  # what older ansible-core passes for a !vault value: not a str, decrypts on str()
        _ciphertext = b"$ANSIBLE_VAULT;1.1;AES256"

        def __str__(self):
            return "v" * 40

    assert filters["secret_problems"](Vaulted(), "redis_password", "printable") == []
    assert filters["key_problems"]({"APIvault0000001": Vaulted()}) == []
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="charset must be one of"):
        filters["secret_problems"]("x", "v", "nope")


# -- redaction ------------------------------------------------------------------------------------

def test_redact_masks_jwts_and_given_secrets():
    token = mint_token("APIredact000001", SECRET, {"video": {"roomList": True}}, ttl=60)
    text = "invalid token: %s, secret %s, url wss://h/rtc?access_token=%s&x=1" % (token, SECRET, token[:20])
    out = redact(text, [SECRET])
    assert token not in out and SECRET not in out and token[:20] not in out
    assert out == "invalid token: %s, secret %s, url wss://h/rtc?access_token=%s&x=1" % (MASK, MASK, MASK)
    assert redact("Bearer " + token, mask="<token>") == "Bearer <token>"
    # the broad JWT pattern: any eyJ header with two dots, even with empty parts
    assert redact("a eyJhbGciOi.. b eyJx.y.z") == "a %s b %s" % (MASK, MASK)


def test_redact_assignments_for_free_text():
    text = "auth Bearer abc.def; Basic dXNlcjpw, password=hunter2&x=1 secret: 's p' api_secret=\"q\" token=zz"
    assert redact(text) == text
    assert redact(text, assignments=True) == (
        "auth Bearer %s Basic %s password=%s&x=1 secret: %s api_secret=%s token=%s" % ((MASK,) * 6))
    assert redact("check api_key and api_secret", assignments=True) == "check api_key and api_secret"


def test_redact_longest_secret_first_and_odd_input():
    assert redact("abcdef abc", ["abc", "abcdef"]) == "%s %s" % (MASK, MASK)
    assert redact("keep", ["", None, 42]) == "keep"
    assert redact(None) == ""
    assert redact(ValueError("bad %s" % SECRET), [SECRET]) == "bad " + MASK


# -- atomic writes --------------------------------------------------------------------------------

class _Spy:
    """Wraps os.fdopen so that the first write sees the temporary file's mode and size."""

    def __init__(self, monkeypatch):
        self.seen = []
        real = os.fdopen

        def fdopen(fd, *args, **kwargs):
            f = real(fd, *args, **kwargs)
            write = f.write

            def checked(data):
                st = os.fstat(f.fileno())
                self.seen.append((stat.S_IMODE(st.st_mode), st.st_size))
                return write(data)

            f.write = checked
            return f

        monkeypatch.setattr(_secrets.os, "fdopen", fdopen)


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_write_atomic_sets_the_mode_before_the_content(tmp_path, monkeypatch, mode):
    spy = _Spy(monkeypatch)
    umask = os.umask(0)  # the mode must not depend on the umask
    try:
        path = tmp_path / "keys.yaml"
        write_atomic(str(path), "APIa: %s\n" % SECRET, mode=mode)
    finally:
        os.umask(umask)
    assert spy.seen == [(mode, 0)]
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == "APIa: %s\n" % SECRET
    assert [p.name for p in tmp_path.iterdir()] == ["keys.yaml"]


def test_write_atomic_replaces_by_rename(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    with open(str(path)) as reader:
        write_atomic(str(path), b"new", mode=0o644)
        assert reader.read() == "old"  # a reader of the old file keeps the old content
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_write_atomic_keeps_the_owner_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("old")
    os.chown(str(path), 65534, 65534)
    write_atomic(str(path), "new")
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o600)
    write_atomic(str(path), "newer", keep_owner=False)
    assert path.stat().st_uid == 0


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(str(path), 42)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keys.yaml"]
    with pytest.raises(OSError):
        write_atomic(str(tmp_path / "missing-dir" / "keys.yaml"), "x")


# -- the key file reader --------------------------------------------------------------------------

def test_key_file_plain_lines(tmp_path):
    """The shape livekit-server's docs, scripts/local_livekit.py and the tests write: `KEY: secret` lines."""
    path = tmp_path / "keys.yaml"
    path.write_text("APIplain0000001: %s\nlab.key-2: %s\n" % (SECRET, SECRET[::-1]))
    keys = read_key_file(str(path))
    assert keys.keys == ["APIplain0000001", "lab.key-2"]
    assert keys.as_dict() == yaml.safe_load(path.read_text())
    assert key_problems(keys.as_dict()) == []


def test_key_file_yaml_map():
    """The shape of a YAML map edited by hand: quoted scalars, comments, a document start."""
    text = "\n".join([
        "---",
        "# keys of the lab",
        "APIplain0000001: plainSecret  # trailing comment",
        "'APIsingle00001': 'it''s # not a comment'",
        '"APIdouble00001": "tab\\there"',
        "APIhash0000001: a#b",
        "",
    ])
    keys = KeyFile(text)
    assert keys.keys == ["APIplain0000001", "APIsingle00001", "APIdouble00001", "APIhash0000001"]
    assert keys.as_dict() == yaml.safe_load(text)
    assert keys.secret("APIsingle00001") == "it's # not a comment"
    assert "APIplain0000001" in keys and "APImissing" not in keys
    assert KeyFile("").keys == [] and KeyFile("{}\n").keys == [] and KeyFile("# only\n").keys == []


@pytest.mark.parametrize("value", [
    "APIabc", "0123", "0x1f", "1e5", "true", "No", "~", "null", "it's", 'say "hi"', "a#b", "a #b", "a: b",
    "-dash", "  spaced ", "ünïcode", "base64+/=", "1_000", "lab.key-1",
])
def test_yaml_scalar_reads_back_as_the_same_string(value):
    text = "k: %s\n" % yaml_scalar(value)
    assert yaml.safe_load(text) == {"k": value}
    assert KeyFile(text).secret("k") == value


@pytest.mark.parametrize("text, message", [
    ("- APIa\n", "line 1: only one-level maps"),
    ("a: {b: c}\n", "line 1: only one-level maps"),
    ("{APIa: b}\n", "line 1: only one-level maps"),
    ("a: b\n  c: d\n", "line 2: indented lines are not supported"),
    ("a: b\na: c\n", "line 2: key a is defined twice"),
    ("a:\n", "line 1: key a has no secret"),
    ("a: null\n", "line 1: key a has no secret"),
    ("a b\n", "line 1: expected `KEY: secret`"),
    ("a: 'x\n", "line 1: unterminated quoted secret"),
    ("a: b c: d\n", "line 1: quote a secret"),
    ("a: 'b' c\n", "line 1: unexpected text after the secret"),
    ('a: "\\q"\n', "line 1: unsupported escape"),
])
def test_key_file_reader_refuses(text, message):
    with pytest.raises(KeyFileError, match=message):
        KeyFile(text)


def test_key_file_errors_never_show_a_secret(tmp_path):
    for text in ("APIa: secret-value-1 extra: x\n", "APIa: 'secret-value-1\n", "APIa: secret-value-1\nAPIa: y\n"):
        with pytest.raises(ValueError) as e:
            KeyFile(text)
        assert "secret-value-1" not in str(e.value)
    with pytest.raises(OSError):
        read_key_file(str(tmp_path / "missing.yaml"))


def test_key_file_edits_keep_other_lines():
    keys = KeyFile("# managed by hand\nAPIold00000001: oldSecret  # old\nAPIkeep0000001: keepSecret\n")
    keys.set("APInew00000001", "0123newSecret")
    keys.set("APIkeep0000001", "changedSecret")
    keys.remove("APIold00000001")
    text = keys.text()
    assert text == "# managed by hand\nAPIkeep0000001: changedSecret\nAPInew00000001: 0123newSecret\n"
    assert yaml.safe_load(text) == {"APIkeep0000001": "changedSecret", "APInew00000001": "0123newSecret"}
    assert KeyFile(text).keys == ["APIkeep0000001", "APInew00000001"]
    with pytest.raises(ValueError, match="an API key id 'bad id' must be"):
        keys.set("bad id", "x")


def test_key_file_from_empty_map_and_to_empty():
    keys = KeyFile("{}\n")
    keys.set("lab.first-1", "s" * 43)
    assert keys.text() == "'lab.first-1': %s\n" % ("s" * 43)
    assert yaml.safe_load(keys.text()) == {"lab.first-1": "s" * 43}
    keys.remove("lab.first-1")
    assert keys.text() == ""
