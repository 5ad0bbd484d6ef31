"""A job the way AWX runs one: a private data directory, credentials injected, ansible-runner in the EE.

AWX (awx/main/models/credential.py, CredentialType.inject_credential) renders a credential type's injectors
with Jinja2's immutable sandbox: each `file` template into a 0600 file under <private data dir>/env, whose
path in the container is `tower.filename.<label>`, then each `env` template; empty inputs are left out of
the namespace. The environment goes to env/envvars, the survey answers to env/extravars, the project
checkout to project/, the inventory to inventory/; the EE runs `ansible-runner` on /runner, and AWX reads
artifacts/<ident>/ (job_events/*.json, stdout, rc, status).
"""

import json
import os
import shutil
import stat
import subprocess
import tempfile

import yaml
from jinja2 import sandbox

RUNNER_DIR = "/runner"


class _Namespace:
    pass


def inject_credential(credential_type, inputs, private_data_dir):
    """(env, safe_env): the environment AWX gives a job for one credential of this type, and the one it stores
    as the job's job_env (secret inputs rendered as **********)."""
    secret = {f["id"] for f in credential_type["inputs"]["fields"] if f.get("secret")}
    namespace = {"tower": _Namespace()}
    namespace["awx"] = namespace["tower"]
    namespace.update({k: v for k, v in inputs.items() if v != ""})
    safe = dict(namespace)
    safe.update({k: "**********" for k in secret if k in inputs})
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    jinja = sandbox.ImmutableSandboxedEnvironment()
    injectors = credential_type.get("injectors", {})
    for label, template in injectors.get("file", {}).items():
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as f:
            f.write(jinja.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        in_container = os.path.join(RUNNER_DIR, os.path.relpath(path, private_data_dir))
        if "." not in label:
            namespace["tower"].filename = in_container
        else:
            if not hasattr(namespace["tower"], "filename"):
                namespace["tower"].filename = _Namespace()
            setattr(namespace["tower"].filename, label.split(".", 1)[1], in_container)
    env = {var: jinja.from_string(template).render(**namespace) for var, template in injectors.get("env", {}).items()}
    safe_env = {var: jinja.from_string(template).render(**safe) for var, template in injectors.get("env", {}).items()}
    return env, safe_env


def job_env(artifacts, safe_env):
    """What AWX stores as the job's environment: the one ansible-runner ran with, the credential's variables
    replaced by their safe rendering (awx/main/tasks/callback.py, RunnerCallback.status_handler)."""
    with open(os.path.join(artifacts, "command")) as f:
        env = json.load(f)["env"]
    env.update({k: v for k, v in safe_env.items() if k in env})
    return env


def private_data_dir(path, playbooks, inventory, extravars, envvars):
    """Lay out a private data directory: playbooks is {relative path in the project: source file}."""
    for rel, src in playbooks.items():
        dest = os.path.join(path, "project", rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(src, dest)
    os.makedirs(os.path.join(path, "inventory"), exist_ok=True)
    with open(os.path.join(path, "inventory", "hosts"), "w") as f:
        f.write(inventory)
    os.makedirs(os.path.join(path, "env"), exist_ok=True)
    for name, data in (("extravars", extravars), ("envvars", envvars)):
        with open(os.path.join(path, "env", name), "w") as f:
            yaml.safe_dump(data, f)


def machine_credential(path, ssh_key, username, vault_password):
    """What AWX adds for a machine and a vault credential: the key in env/ssh_key (ansible-runner loads it
    into an ssh-agent), -u and --ask-vault-pass on the command line, the prompt's answer in env/passwords."""
    with open(os.path.join(path, "env", "ssh_key"), "w") as f:
        f.write(ssh_key)
    os.chmod(os.path.join(path, "env", "ssh_key"), 0o600)
    with open(os.path.join(path, "env", "cmdline"), "w") as f:
        f.write("-u %s --ask-vault-pass" % username)
    with open(os.path.join(path, "env", "passwords"), "w") as f:
        yaml.safe_dump({r"Vault password:\s*?$": vault_password}, f)


def run_job(image, path, playbook, ident, network="host", timeout=600):
    """ansible-runner inside the EE (its default user, no TTY); returns (completed process, artifacts dir)."""
    # The EE runs as uid 1000 (group 0), as AWX starts it: the private data dir must be its own.
    subprocess.run(["chown", "-R", "1000:0", path], check=True)
    cmd = ["podman", "run", "--rm", "--network", network, "-v", "%s:%s:Z" % (path, RUNNER_DIR), image,
           "ansible-runner", "run", RUNNER_DIR, "-p", playbook, "--ident", ident]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    return proc, os.path.join(path, "artifacts", ident)


def job_events(artifacts):
    events = []
    for name in os.listdir(os.path.join(artifacts, "job_events")):
        with open(os.path.join(artifacts, "job_events", name)) as f:
            events.append(json.load(f))
    return sorted(events, key=lambda e: e["counter"])


def read_tree(path, skip=()):
    """All text of the files under path, except those whose name is in skip."""
    out = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name in skip:
                continue
            with open(os.path.join(root, name), errors="replace") as f:
                out.append(f.read())
    return "\n".join(out)
