"""The new-AMI check, as plain Python: no WebAssembly, no host, so it unit-tests natively.

It reads the current `view/instances;_expand` and remembers, per AMI, the earliest launch time
it has ever seen (state `{"first_seen": {"ami-...": ms}}`, the Rust `ami` rule's shape). An AMI
first seen at or after the window's `since` gets one alert per instance launched at or after
`since` whose service type is not in `allowed_tags`. The alert id is the AMI id.
"""

import json

NAME = "ami-py"
VERSION = "0.1.0"
DESCRIPTION = "instances launched from an AMI first seen in the window (a Python rule)"
INSTANCES = "view/instances;_expand"
# (path, window, updated-only), as the host fetches them before `evaluate`.
QUERIES = [(INSTANCES, False, False)]
DEFAULT_CONFIG = {"allowed_tags": []}

# What an instance is: the first non-empty value of these tags, else its AMI id.
SERVICE_TYPE_TAGS = ["service_name", "Name", "aws:cloudformation:stack-name", "aws:autoscaling:groupName"]


def tags_of(instance):
    return {t.get("key"): t.get("value") or "" for t in instance.get("tags") or []}


def service_type(instance):
    tags = tags_of(instance)
    for key in SERVICE_TYPE_TAGS:
        if tags.get(key):
            return tags[key]
    return instance.get("imageId") or ""


def evaluate(config, state, data, since_ms):
    """Returns (alerts, new state); alerts are (id, details) pairs in a stable order."""
    allowed = config.get("allowed_tags", [])
    if not isinstance(allowed, list) or not all(isinstance(t, str) for t in allowed):
        raise ValueError(f"ami-py: allowed_tags: expected a list of strings, got {json.dumps(allowed)}")
    first_seen = dict((state or {}).get("first_seen", {}))
    by_ami = {}
    for instance in json.loads(data[INSTANCES]):
        ami = instance.get("imageId")
        if ami:
            by_ami.setdefault(ami, []).append((instance.get("launchTime") or 0, instance))
    for ami, group in by_ami.items():
        earliest = min(started for started, _ in group)
        first_seen[ami] = min(first_seen.get(ami, earliest), earliest)
    alerts = []
    for ami in sorted(by_ami):
        if first_seen[ami] < since_ms:
            continue
        for started, instance in sorted(by_ami[ami], key=lambda p: (p[0], p[1]["instanceId"])):
            kind = service_type(instance)
            if started >= since_ms and kind not in allowed:
                alerts.append((ami, {
                    "instanceId": instance["instanceId"],
                    "imageId": ami,
                    "started": started,
                    "service_type": kind,
                    "tags": tags_of(instance),
                    "publicIpAddress": instance.get("publicIpAddress"),
                    "privateIpAddress": instance.get("privateIpAddress"),
                }))
    return alerts, {"first_seen": first_seen}
