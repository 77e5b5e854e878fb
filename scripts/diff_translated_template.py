"""What a change to template.yaml changes in the CloudFormation it becomes: resources, properties and IAM grants.

Translates template.yaml (Fn::ForEach expanded, then the SAM transform, offline) as it is at a git revision and as it
is in the working tree, and prints what differs:
- resources added or removed (logical id and type);
- per kept resource, the properties and metadata that differ (JSON paths);
- per IAM role, the (action, resource) grants added or removed.

A refactor of the template should print only what it meant to change. Two spellings that CloudFormation resolves the
same way are treated as equal: `{"Fn::Sub": "text without variables"}` and "text", `{"Fn::Sub": "${Name}"}` and
`{"Ref": "Name"}`, `{"Fn::Sub": "${Name.Attribute}"}` and `{"Fn::GetAtt": ["Name", "Attribute"]}`.

    python scripts/diff_translated_template.py [REV]     # REV defaults to HEAD
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "local_stack")]

from tests.infra.sam_translate import translate  # noqa: E402

_ONLY_VARIABLE = re.compile(r"^\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}$")


def template_at(revision: str, workdir: Path) -> Path:
    """template.yaml and the state machine definitions it reads, as they are at `revision`."""
    for relative in ["template.yaml", *_tracked(revision, "statemachine")]:
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(["git", "show", f"{revision}:{relative}"], cwd=REPO, check=True, capture_output=True).stdout
        )
    return workdir / "template.yaml"


def _tracked(revision: str, folder: str) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision, folder], cwd=REPO, check=True, capture_output=True, text=True
    )
    return listing.stdout.split()


def normalise(value: Any) -> Any:
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            only = _ONLY_VARIABLE.match(text)
            if only:
                name, attribute = only.groups()
                return {"Fn::GetAtt": [name, attribute]} if attribute else {"Ref": name}
            if "${" not in text:
                return text
        return {key: normalise(item) for key, item in value.items()}
    return value


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}.{key}" if path else key
            if key not in after:
                lines.append(f"  - {where}: {json.dumps(before[key])[:200]}")
            elif key not in before:
                lines.append(f"  + {where}: {json.dumps(after[key])[:200]}")
            else:
                lines += differences(before[key], after[key], where)
        return lines
    if before != after:
        return [f"  ~ {path}: {json.dumps(before)[:160]} -> {json.dumps(after)[:160]}"]
    return []


def grants(cfn: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Role -> {(action, resource)} over its inline and managed policies."""
    result: dict[str, set[tuple[str, str]]] = {}
    for name, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        found = {("managed-policy", json.dumps(arn)) for arn in resource["Properties"].get("ManagedPolicyArns", [])}
        for policy in resource["Properties"].get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                for action in _as_list(statement.get("Action", [])):
                    for target in _as_list(statement.get("Resource", [])):
                        found.add((f"{statement['Effect']} {action}", json.dumps(normalise(target), sort_keys=True)))
        result[name] = found
    return result


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def report(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = before["Resources"], after["Resources"]
    lines = [f"resources: {len(old)} before, {len(new)} after"]
    lines += [f"- {lid} ({old[lid]['Type']})" for lid in sorted(set(old) - set(new))]
    lines += [f"+ {lid} ({new[lid]['Type']})" for lid in sorted(set(new) - set(old))]
    for lid in sorted(set(old) & set(new)):
        changed = differences(normalise(old[lid]), normalise(new[lid]))
        if changed:
            lines += [f"~ {lid} ({new[lid]['Type']})", *changed]
    old_grants, new_grants = grants(before), grants(after)
    for role in sorted(set(old_grants) | set(new_grants)):
        removed = old_grants.get(role, set()) - new_grants.get(role, set())
        added = new_grants.get(role, set()) - old_grants.get(role, set())
        lines += [f"iam {role}: - {action} on {target}" for action, target in sorted(removed)]
        lines += [f"iam {role}: + {action} on {target}" for action, target in sorted(added)]
    if not any(line.startswith("iam ") for line in lines):
        lines.append("iam: every role holds the same grants")
    for section in ("Parameters", "Outputs", "Conditions", "Rules"):
        changed = differences(normalise(before.get(section, {})), normalise(after.get(section, {})), section)
        lines += changed
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", nargs="?", default="HEAD")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        before = translate(template_at(args.revision, Path(workdir)))
    after = translate(REPO / "template.yaml")
    print(*report(before, after), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
