# Installed by the rtcstack.livekit livekit_server role as
# /usr/local/libexec/rtcstack/livekit_config_check.py and run through the livekit-config-check
# wrapper next to it. Do not edit: the next run replaces it.
"""Check a livekit-server configuration the way the server would, without starting it.

    livekit-config-check [--binary PATH] [--config PATH] [--key-file PATH]
    livekit-config-check --key-file PATH [--ignore-key-file-mode]

livekit-server exits with status 0 after printing a configuration error, so its exit status says
nothing. This wrapper runs the server's own strict parser (``livekit-server --config FILE ports``:
unknown keys, bad port ranges, bad node_ip), reads what it printed, and then repeats the startup
checks that the ``ports`` subcommand skips: the key file (mode, YAML, duplicate ids, empty), the
webhook api_key, and the TURN secret files. It exits 1 with the server's message on stderr when
anything would stop the server from starting, 0 otherwise (the ports the server would use go to
stdout). Secrets found in the configuration are masked in everything it prints.

Used by the role as the ``validate:`` command of config.yaml and keys.yaml, and as ExecStartPre of
livekit-server.service.
"""

import argparse
import os
import stat
import subprocess
import sys

DEFAULT_BINARY = "/usr/local/bin/livekit-server"
DEFAULT_CONFIG = "/etc/livekit/config.yaml"
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

try:
    import yaml
except ImportError:  # the role installs python3-yaml; without it only the server's own parse runs
    yaml = None


class CheckError(Exception):
    pass


def load_yaml_no_duplicates(text, what):
    """safe_load that refuses a repeated mapping key, as livekit-server's YAML decoder does."""

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise CheckError("%s: line %d: mapping key %r already defined at line %d"
                                 % (what, key_node.start_mark.line + 1, key, seen[key]))
            seen[key] = key_node.start_mark.line + 1
        return loader.construct_mapping(node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        raise CheckError("%s: %s" % (what, str(e).replace("\n", " "))) from None


def check_no_other_permissions(path, message):
    try:
        st = os.stat(path)
    except OSError as e:
        raise CheckError("%s: %s" % (path, e.strerror)) from None
    if stat.S_IMODE(st.st_mode) & 0o007:
        raise CheckError("%s (%s has mode %04o)" % (message, path, stat.S_IMODE(st.st_mode)))


def read_keys(path, check_mode=True):
    # Same order and messages as livekit-server's createKeyProvider / ValidateKeys.
    if check_mode:
        check_no_other_permissions(path, "key file others permissions must be set to 0")
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise CheckError("key file %s: %s" % (path, e.strerror)) from None
    if yaml is None:
        keys = {}
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#") and ":" in line:
                k, v = line.split(":", 1)
                if k.strip() in keys:
                    raise CheckError("key file %s: mapping key %r already defined" % (path, k.strip()))
                keys[k.strip()] = v.strip()
    else:
        keys = load_yaml_no_duplicates(text, "key file %s" % path)
    if keys is None:
        keys = {}
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise CheckError("key file %s: must be a YAML map of API key to secret (strings)" % path)
    if not keys:
        raise CheckError("one of key-file or keys must be provided in order to support a secure installation"
                         " (%s holds no key)" % path)
    for key, secret in keys.items():
        if len(secret) < 32:
            sys.stderr.write("warning: secret of API key %s is shorter than 32 characters\n" % key)
    return keys


def secrets_in(config):
    """Every secret value of the config, so that no message can print one."""
    found = []
    redis = config.get("redis") or {}
    for name in ("password", "sentinel_password"):
        if redis.get(name):
            found.append(str(redis[name]))
    prometheus = config.get("prometheus") or {}
    if prometheus.get("password"):
        found.append(str(prometheus["password"]))
    for server in (config.get("rtc") or {}).get("turn_servers") or []:
        if isinstance(server, dict):
            for name in ("secret", "credential"):
                if server.get(name):
                    found.append(str(server[name]))
    for secret in (config.get("keys") or {}).values():
        found.append(str(secret))
    return [s for s in found if len(s) >= 4]


def mask(text, secrets):
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "********")
    return text


def run_ports(binary, config_path):
    """The server's own strict parse. Returns (ok, output)."""
    try:
        proc = subprocess.run([binary, "--config", config_path, "ports"], env=CLEAN_ENV, cwd="/",
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                              check=False)
    except OSError as e:
        raise CheckError("cannot run %s: %s" % (binary, e.strerror)) from None
    except subprocess.TimeoutExpired:
        raise CheckError("%s --config %s ports did not finish within 120 s" % (binary, config_path)) from None
    lines = [line.strip() for line in proc.stdout.splitlines()]
    # On success the server prints "TCP Ports" ... "UDP Ports" ...; on any error it prints only the
    # error (to stdout) and still exits 0.
    ok = proc.returncode == 0 and "TCP Ports" in lines and "UDP Ports" in lines
    output = (proc.stdout + proc.stderr).strip()
    return ok, output


def check_config(args):
    secrets = []
    config = {}
    if yaml is not None:
        try:
            with open(args.config) as f:
                text = f.read()
        except OSError as e:
            raise CheckError("%s: %s" % (args.config, e.strerror)) from None
        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            config = {}  # the server's parser below reports it with its own words
        if not isinstance(config, dict):
            config = {}
        secrets = secrets_in(config)

    ok, output = run_ports(args.binary, args.config)
    if not ok:
        raise CheckError(mask(output or "livekit-server printed nothing", secrets))

    key_file = args.key_file or config.get("key_file")
    if key_file:
        keys = read_keys(key_file)
    elif yaml is not None:
        keys = config.get("keys") or {}
        if not keys:
            raise CheckError("one of key-file or keys must be provided in order to support a secure installation")
    else:
        keys = None

    if yaml is not None:
        webhook = config.get("webhook") or {}
        if webhook.get("urls") and keys is not None and webhook.get("api_key") not in keys:
            raise CheckError("api_key is required to use webhooks (webhook.api_key %r is not a key of %s)"
                             % (webhook.get("api_key"), key_file or "keys"))
        for server in (config.get("rtc") or {}).get("turn_servers") or []:
            if isinstance(server, dict) and server.get("secret_file") and not server.get("secret"):
                check_no_other_permissions(server["secret_file"],
                                           "turn secret file others permissions must be set to 0")
                try:
                    with open(server["secret_file"]) as f:
                        if not f.read().strip():
                            raise CheckError("turn secret file %s is empty" % server["secret_file"])
                except OSError as e:
                    raise CheckError("reading turn secret file %r: %s" % (server["secret_file"], e.strerror)) from None
    return output


def main():
    p = argparse.ArgumentParser(prog="livekit-config-check", description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--binary", default=DEFAULT_BINARY)
    p.add_argument("--config")
    p.add_argument("--key-file")
    p.add_argument("--ignore-key-file-mode", action="store_true",
                   help="a candidate key file whose final mode the caller sets (Ansible validate)")
    args = p.parse_args()
    if not args.config and not args.key_file:
        args.config = DEFAULT_CONFIG
    # The server runs from / below: make relative paths absolute first.
    args.config = args.config and os.path.abspath(args.config)
    args.key_file = args.key_file and os.path.abspath(args.key_file)
    try:
        if args.config:
            print(check_config(args))
        else:
            read_keys(args.key_file, check_mode=not args.ignore_key_file_mode)
            print("key file %s: OK" % args.key_file)
    except CheckError as e:
        sys.stderr.write("livekit-config-check: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
