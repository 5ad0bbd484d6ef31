"""Helm post-renderer: adds environment variables, volumes and mounts to one container of one Deployment.

The livekit-server chart has no value for extra env or volumes, and it writes `livekit:` (where a
Redis password would go) into a ConfigMap. With this step the password reaches the pod as an env
var from a Secret and the TURN secret as a file from a Secret, so neither is in a ConfigMap, in the
Helm values or in the release history. Reads the manifests on stdin, writes them to stdout.

The patch comes from the file named by RTCSTACK_POST_RENDER (JSON): {"deployment": name,
"container": name, "env": [..], "volumes": [..], "volumeMounts": [..], "pod": {pod spec fields to set}}.
"""

import json
import os
import sys

import yaml


def patch(doc, spec):
    if not doc or doc.get("kind") != "Deployment" or doc["metadata"]["name"] != spec["deployment"]:
        return False
    pod = doc["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == spec["container"])
    for field, items in (("env", spec.get("env", [])), ("volumeMounts", spec.get("volumeMounts", []))):
        names = {item["name"] for item in items}
        container[field] = [item for item in container.get(field) or [] if item["name"] not in names] + items
    names = {item["name"] for item in spec.get("volumes", [])}
    pod["volumes"] = [item for item in pod.get("volumes") or [] if item["name"] not in names] + spec.get("volumes", [])
    if not pod["volumes"]:
        del pod["volumes"]
    pod.update(spec.get("pod", {}))
    return True


def main():
    with open(os.environ["RTCSTACK_POST_RENDER"]) as f:
        spec = json.load(f)
    docs = list(yaml.safe_load_all(sys.stdin))
    patched = [patch(doc, spec) for doc in docs]  # every document, not only up to the first match
    if not any(patched):
        sys.exit("post-render: no Deployment named %s in the chart's output" % spec["deployment"])
    yaml.safe_dump_all([doc for doc in docs if doc], sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
