"""cfn-lint on the translated template (cfn-lint skips SAM resources, and only the translation shows cycles such as
bucket notification <-> function environment), and on the ASL wrapped in a plain state machine (the only way its
state-machine rules E3601 run)."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.api import lint
from cfnlint.config import ManualArgs

REGIONS = ["us-east-1", "eu-west-1"]


def run_cfn_lint(template: dict[str, Any], regions: list[str] = REGIONS) -> tuple[list[str], list[str]]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=regions))
    described = [f"{m.rule.id} {m.rule.severity} line {m.linenumber}: {m.message}" for m in matches]
    errors = [text for m, text in zip(matches, described, strict=True) if m.rule.severity == "error"]
    others = [text for m, text in zip(matches, described, strict=True) if m.rule.severity != "error"]
    return errors, others


def test_translated_template_has_no_cfn_lint_errors(cfn):
    errors, warnings = run_cfn_lint(cfn)
    print("cfn-lint warnings/informational:", *warnings or ["none"], sep="\n  ")
    assert errors == []


def test_cfn_lint_would_catch_a_notification_cycle(cfn):
    """Guards the guard: !Ref SwapBucket in a function's environment recreates the cycle, and the lint sees it."""
    cfn["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]["BUCKET_NAME"] = {"Ref": "SwapBucket"}
    cfn["Resources"]["UploadTriggerFunction"]["Properties"]["Environment"]["Variables"]["BUCKET_NAME"] = {
        "Ref": "SwapBucket"
    }
    errors, _ = run_cfn_lint(cfn, regions=REGIONS[:1])
    assert any(error.startswith("E3004") for error in errors), errors


def test_state_machine_definition_passes_cfn_lint(cfn, asl):
    machine = cfn["Resources"]["FaceSwapStateMachine"]["Properties"]
    wrapped = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/faceswap-states",
                    "Definition": asl,
                    "DefinitionSubstitutions": {
                        name: f"arn:aws:lambda:us-east-1:123456789012:function:{name.removesuffix('Arn')}"
                        for name in machine["DefinitionSubstitutions"]
                    },
                },
            }
        },
    }
    errors, warnings = run_cfn_lint(wrapped, regions=REGIONS[:1])
    print("ASL warnings:", *warnings or ["none"], sep="\n  ")
    assert errors == []
