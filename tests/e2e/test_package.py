"""The collection as people get it: build the tarball, check what it ships, install it, read its docs.

One build from a copy of the checkout, with local state planted in the copy first (.ansible/,
_tmp_* files and directories, tests/integration/integration_config.yml) holding fake secrets:
- every shipped file matches the allow-list, every tracked file the allow-list names is shipped,
  and none of the planted files or their values is;
- no shipped file holds a secret-looking string (the detectors are shown to catch the planted ones);
- `ansible-galaxy collection install` of the tarball into an empty path, then `ansible-doc` of every
  module, lookup, filter and role from there (with only the community collections of the `ansible`
  package beside it), and `ansible-doc --list rtcstack.livekit`.
"""

import ast
import base64
import json
import math
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import sysconfig
import tarfile
from collections import Counter

import pytest
from conftest import ROOT

BIN = os.path.dirname(sys.executable)

# What the tarball may hold (paths relative to the collection root). See "Packaging" in docs/developing.md.
USER_PLAYBOOKS = ("site", "preflight", "upgrade", "rotate_keys", "verify", "load_test", "kubernetes", "provision",
                  "loadgen_fleet")
ALLOWED = [re.compile(p) for p in (
    r"(MANIFEST\.json|FILES\.json|README\.md|LICENSE|CHANGELOG\.rst|requirements\.txt|bindep\.txt)",
    r"meta/(runtime|execution-environment)\.yml",
    r"changelogs/changelog\.yaml",
    r"plugins/(modules|module_utils|action|lookup|filter|test|doc_fragments)/(\w+/)*\w+\.(py|yml)",
    r"roles/\w+/(defaults|files|handlers|meta|tasks|templates|vars)/.+",
    r"playbooks/(%s)\.yml" % "|".join(USER_PLAYBOOKS),
    r"playbooks/tasks/[\w-]+\.yml",
    r"docs/[\w.-]+\.md",
    r"inventories/example/.+",
    r"extras/awx/(surveys/)?[\w-]+\.(yml|json)",
)]
# Nothing from here ships, whatever the allow-list says: local tool state and editor leftovers.
JUNK_PART = re.compile(r"^(\..*|_tmp_.*|__pycache__|.*\.pyc|.*~|.*\.swp|.*\.orig|.*\.rej)$")

# Secret-looking strings. No path is exempt: a shipped file that matches fails the test.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# `<something>secret|password|token|stream_key...: value` in YAML, JSON, INI, shell or Python.
SECRET_ASSIGNMENT = re.compile(
    r"""(?P<key>[\w.-]*(?:secret|passw(?:or)?d|token|stream_key|private_key|credential)[\w-]*)["']?\s*[:=]\s*["']?"""
    r"""(?P<value>[^\s"'`,;()\[\]{}<>]+)""", re.IGNORECASE)
# A line of a LiveKit key file (`APIxxxxxxxx: secret`), in a key file or a YAML dict of keys.
KEY_FILE_LINE = re.compile(r"""^\s*["']?API[A-Za-z0-9]{8,}["']?\s*:\s*["']?(?P<value>[^\s"']+)""", re.MULTILINE)
# Words and names, not generated: `a-secret-of-at-least-32-characters`, `CHANGE_ME`, `s3_secret`, `TokenName2`.
WORD = re.compile(r"(?:[A-Z]?[a-z]+)+[0-9]*|[a-z0-9]{1,4}|[A-Z]+[0-9]*|[0-9]+")


def entropy(value):
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def random_looking(value):
    """Generated-looking: 16+ characters of a key alphabet, not words, mixed classes, high entropy.

    Catches the secrets this collection and its tools generate (the 32+ characters the roles and
    modules require: base62, token_urlsafe, hex); a template (`{{ ... }}`), a vault reference, a
    variable or attribute name and a worded placeholder are not random-looking.
    """
    if len(value) < 16 or not re.fullmatch(r"[A-Za-z0-9+/=_.~-]+", value):
        return False
    if all(WORD.fullmatch(part) for part in re.split(r"[-_.~]+", value) if part):
        return False
    classes = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return classes >= 2 and entropy(value) >= 3.0


def secret_findings(text):
    """What in ``text`` looks like a secret: (detector, line number); never the value itself."""
    found = []

    def add(kind, match):
        found.append((kind, text.count("\n", 0, match.start()) + 1))

    for match in JWT.finditer(text):
        add("JWT", match)
    for match in PRIVATE_KEY.finditer(text):
        add("private key", match)
    for match in SECRET_ASSIGNMENT.finditer(text):
        if random_looking(match.group("value")):
            add("random value for %s" % match.group("key"), match)
    for match in KEY_FILE_LINE.finditer(text):
        if random_looking(match.group("value")):
            add("key file line", match)
    return found


def fake_secrets():
    """Values shaped like the real ones (generated here, used nowhere)."""
    alphabet = string.ascii_letters + string.digits

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def b62(n):
        return "".join(secrets.choice(alphabet) for dummy in range(n))

    jwt = ".".join([b64(b'{"alg":"HS256","typ":"JWT"}'), b64(json.dumps({"iss": "API" + b62(12), "exp": 1}).encode()),
                    b64(secrets.token_bytes(32))])
    key_block = "\n".join(["-----BEGIN " + "PRIVATE KEY-----", base64.b64encode(secrets.token_bytes(48)).decode(),
                           "-----END " + "PRIVATE KEY-----"])
    return {"api_secret": b62(43), "key_id": "API" + b62(12), "password": secrets.token_urlsafe(24),
            "jwt": jwt, "key_block": key_block}


def planted_files(fake):
    """Local state a developer's checkout holds at build time (relative path -> content)."""
    return {
        "tests/integration/integration_config.yml": (
            "livekit_url: http://127.0.0.1:7880\nlivekit_api_key: %s\nlivekit_api_secret: %s\n"
            % (fake["key_id"], fake["api_secret"])),
        ".ansible/collections/state.yml": "api_secret: %s\n" % fake["api_secret"],
        "_tmp_lint/notes.txt": "token=%s\n" % fake["jwt"],
        "_tmp_keys.yml": "%s: %s\n" % (fake["key_id"], fake["api_secret"]),
        "roles/redis/_tmp_work/deep/vars.yml": "redis_password: %s\n" % fake["password"],
        "roles/redis/.ansible/state.yml": "redis_password: %s\n" % fake["password"],
        "roles/redis/tasks/_tmp_scratch.yml": "# %s\n" % fake["key_block"],
        "docs/.notes.md": "LIVEKIT_API_SECRET=%s\n" % fake["api_secret"],
    }


def copy_checkout(dest):
    def ignore(directory, names):
        rel = os.path.relpath(directory, ROOT)
        skip = {".git", ".venv", ".cache"} if rel == "." else {"output"} if rel == "tests" else set()
        if rel == os.path.join("tests", "integration"):
            skip = {"integration_config.yml"}  # the integration driver's, with a live secret: planted fake instead
        return [n for n in names if n in skip]

    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)


def tracked_files():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]


def allowed(path):
    return (not any(JUNK_PART.match(part) for part in path.split("/"))
            and any(p.fullmatch(path) for p in ALLOWED))


def clean_env(collections_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "LIVEKIT_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
               ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ["PATH"])
    return env


def run(cmd, cwd, env, timeout=120):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "%s: rc %d\n%s\n%s" % (" ".join(cmd[:4]), proc.returncode, proc.stdout[-3000:],
                                                        proc.stderr[-3000:])
    return proc


class Built(tuple):
    """(tarball path, {member name: bytes or None for a directory}, the fake values planted)."""

    def __repr__(self):
        return "<built %s>" % os.path.basename(self[0])


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """Build once, from a copy of the checkout with local state planted in it."""
    work = tmp_path_factory.mktemp("package")
    src = str(work / "src")
    copy_checkout(src)
    fake = fake_secrets()
    for rel, content in planted_files(fake).items():
        path = os.path.join(src, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    out = str(work / "dist")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", src, "--output-path", out],
        cwd=str(work), env=clean_env(str(work / "none")))
    tarballs = os.listdir(out)
    assert len(tarballs) == 1, tarballs
    tarball = os.path.join(out, tarballs[0])
    members = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            name = member.name[2:] if member.name.startswith("./") else member.name
            members[name.rstrip("/")] = tar.extractfile(member).read() if member.isfile() else None
    return Built((tarball, members, fake))


def test_only_what_users_run_is_shipped(package):
    dummy, members, dummy_fake = package
    files = sorted(name for name, data in members.items() if data is not None)
    outside = [name for name in files if not allowed(name)]
    assert outside == [], "files outside the allow-list in the tarball:\n" + "\n".join(outside)
    dirs = [name for name, data in members.items() if data is None and name]
    empty = [d for d in dirs if not any(f.startswith(d + "/") for f in files)]
    assert empty == [], "directories with no shipped file: %s" % empty
    missing = sorted(p for p in tracked_files() if allowed(p) and p not in members)
    assert missing == [], "files the allow-list names that the build left out:\n" + "\n".join(missing)
    names = sorted(members)
    kept_out = ("playbooks/lab_stack.yml", "playbooks/lab_api.yml", "inventories/lab", "galaxy.yml", "requirements-dev.txt",
                "changelogs/config.yaml", "changelogs/fragments", "Makefile", "pyproject.toml", "molecule", "tests",
                "scripts", "benchmarks", ".ci", ".config")
    shipped = [n for n in names if any(n == k or n.startswith(k + "/") for k in kept_out)]
    assert shipped == [], "development files in the tarball"
    needed = ["LICENSE", "README.md", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt",
              "bindep.txt", "changelogs/changelog.yaml", "inventories/example/hosts.yml",
              "playbooks/tasks/load_test_round.yml"] + ["playbooks/%s.yml" % p for p in USER_PLAYBOOKS]
    left_out = [n for n in needed if n not in names]
    assert left_out == [], "not shipped"


def test_manifest_metadata(package):
    dummy, members, dummy_fake = package
    info = json.loads(members["MANIFEST.json"])["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"]
    for key in ("repository", "documentation", "issues", "homepage"):
        assert not info.get(key) or "example.invalid" not in info[key], key
    assert info["dependencies"], "the collection dependencies are missing from MANIFEST.json"


def test_planted_state_is_not_shipped(package):
    dummy, members, fake = package
    planted = planted_files(fake)
    shipped = sorted(set(planted) & set(members))
    assert shipped == [], "planted local state shipped"
    # The detectors catch every planted file, so a leak of any of them would fail the scan below.
    for rel, content in planted.items():
        caught = bool(secret_findings(content))
        assert caught, "the secret scan misses the planted %s" % rel
    values = [v.encode() for v in fake.values()]
    leaked = [name for name, data in members.items() if data is not None and any(v in data for v in values)]
    assert leaked == [], "a planted fake secret is in %s" % leaked


def test_no_secret_looking_string_is_shipped(package):
    dummy, members, dummy_fake = package
    findings = []
    for name, data in sorted(members.items()):
        if data is not None:
            findings += ["%s:%d: %s" % (name, line, kind) for kind, line in secret_findings(data.decode("utf-8", "replace"))]
    assert findings == [], "secret-looking strings in the tarball:\n" + "\n".join(findings)


def test_scan_tells_placeholders_from_secrets():
    fake = fake_secrets()
    for text in ("api_secret: %s" % fake["api_secret"], '"password": "%s"' % fake["password"],
                 "LIVEKIT_API_SECRET=%s" % secrets.token_hex(32), "stream_key = '%s'" % secrets.token_urlsafe(24),
                 "%s: %s" % (fake["key_id"], fake["api_secret"]), fake["jwt"], fake["key_block"]):
        caught = bool(secret_findings(text))  # (the sample itself stays out of the failure message)
        assert caught, "not flagged: a %d-character sample" % len(text)
    for text in ('api_secret: "{{ vault_livekit_api_secret }}"', "redis_password: !vault |",
                 'vault_redis_password: "a-redis-password-of-at-least-32-characters"',
                 'APIchangeme00000: "a-secret-of-at-least-32-characters-please"', "secret_fields = ('stream_key',)",
                 'api_secret: "{{ lookup(\'ansible.builtin.env\', \'LIVEKIT_API_SECRET\') }}"',
                 "token: $(cat /run/token)", "livekit_egress_redis_password: CHANGE_ME_TO_A_LONG_SECRET",
                 "'secret': livekit_egress_s3_secret,", "api_secret = module.params.api_secret"):
        assert secret_findings(text) == [], text


def filter_names(path):
    """The names a FilterModule's filters() returns, read from the source without importing it."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            returned = [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
            assert len(returned) == 1 and isinstance(returned[0], ast.Dict), "%s: filters() is not one dict" % path
            return [k.value for k in returned[0].keys]
    return []


def plugin_names():
    """Every documentable plugin of the checkout, by ansible-doc type."""
    plugins = os.path.join(ROOT, "plugins")

    def py_names(kind):
        directory = os.path.join(plugins, kind)
        if not os.path.isdir(directory):
            return []
        return sorted(n[:-3] for n in os.listdir(directory) if n.endswith(".py") and not n.startswith("_"))

    filters = sorted(name for n in py_names("filter") for name in filter_names(os.path.join(plugins, "filter", n + ".py")))
    roles = sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if not r.startswith("_")
                   and os.path.isfile(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))
    names = {"module": py_names("modules"), "lookup": py_names("lookup"), "filter": filters, "role": roles}
    assert names["module"] and names["lookup"] and names["filter"] and names["role"], names
    return names


def test_install_and_ansible_doc_from_a_clean_path(package, tmp_path):
    tarball = package[0]
    clean = str(tmp_path / "clean")
    env = clean_env(clean)
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", tarball, "-p", clean, "--no-deps"],
        cwd=str(tmp_path), env=env)
    installed = os.path.join(clean, "ansible_collections", "rtcstack", "livekit")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json"))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "verify", "--offline", "rtcstack.livekit", "-p", clean],
        cwd=str(tmp_path), env=env)

    bundled = sysconfig.get_paths()["purelib"]
    assert os.path.isdir(os.path.join(bundled, "ansible_collections", "community", "general")), bundled
    env = clean_env(clean + os.pathsep + bundled)
    for kind, names in plugin_names().items():
        fqcns = ["rtcstack.livekit." + n for n in names]
        proc = run([os.path.join(BIN, "ansible-doc"), "-t", kind, "--json"] + fqcns, cwd=str(tmp_path), env=env)
        docs = json.loads(proc.stdout)
        assert sorted(docs) == sorted(fqcns), "ansible-doc -t %s found %s\n%s" % (kind, sorted(docs), proc.stderr[-3000:])
        for fqcn, doc in docs.items():
            assert doc and (doc.get("doc") or doc.get("entry_points")), "%s: empty doc" % fqcn
            filename = (doc.get("doc") or {}).get("filename") or doc.get("path") or ""
            if filename:
                assert filename.startswith(installed), "%s read from %s, not from the installed copy" % (fqcn, filename)
        assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr[-3000:]

    proc = run([os.path.join(BIN, "ansible-doc"), "--list", "rtcstack.livekit"], cwd=str(tmp_path), env=env)
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert listed == {"rtcstack.livekit." + n for n in plugin_names()["module"]}, proc.stdout
