# shellcheck shell=bash
# What scripts/lab.sh and scripts/lab-k8s.sh share; sourced with LAB_DIR set (made here, 0700).
mkdir -p "$LAB_DIR"
chmod 0700 "$LAB_DIR"

# The collection as the lab runs it (a copy of this tree), the venv's tools first, no LiveKit credentials from the
# caller's environment.
collections() {
  ANSIBLE_COLLECTIONS_PATH=$(scripts/sync-collection.sh)
  export ANSIBLE_COLLECTIONS_PATH
  PATH="$(pwd)/.venv/bin:$PATH"
  export PATH
  unset LIVEKIT_URL LIVEKIT_API_KEY LIVEKIT_API_SECRET
}

# Logs of a tool that handles secrets are 0600, new or left by an older run.
log_file() {
  (umask 077; : >> "$1")
  chmod 0600 "$1"
  [ "$(stat -c %a "$1")" = 600 ] || { echo "lab: $1 is not 0600" >&2; exit 1; }
}

# Secrets of the lab, generated once and kept 0600 (never on a command line, never in git).
lab_secrets() {
  local file="$LAB_DIR/secrets.yml"
  if [ ! -s "$file" ]; then
    (umask 077; .venv/bin/python - "$file" <<'PY'
import secrets, string, sys
alphabet = string.ascii_letters + string.digits
def secret(n=40):
    return "".join(secrets.choice(alphabet) for _ in range(n))
key = "APIlab" + "".join(secrets.choice(alphabet) for _ in range(9))
with open(sys.argv[1], "w") as f:
    f.write("---\nlivekit_api_keys:\n  %s: %s\nredis_password: %s\ncoturn_static_auth_secret: %s\n"
            % (key, secret(), secret(), secret()))
PY
    )
  fi
  chmod 0600 "$file"
}
