"""The SAM template reader: parameters, conditions, Globals and intrinsic functions (no moto involved)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faceswap_local.aws.template import (
    NO_VALUE,
    Intrinsics,
    TemplateError,
    apply_function_globals,
    expand_for_each,
    load_template,
    resolve_parameters,
)

TEMPLATE = {
    "Parameters": {
        "Prefix": {"Type": "String", "Default": "pre"},
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Count": {"Type": "Number", "Default": 3},
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Equals": ["x", "x"]}]},
    },
    "Mappings": {"Sizes": {"dev": {"mem": 128}}},
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
}


def _intrinsics(overrides: dict[str, str] | None = None) -> Intrinsics:
    parameters = resolve_parameters(TEMPLATE, overrides or {})
    pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    return Intrinsics(TEMPLATE, parameters, pseudo, lambda lid: f"ref-{lid}", lambda lid, att: f"att-{lid}-{att}")


def test_sub_resolves_parameters_pseudo_parameters_resources_attributes_and_escapes() -> None:
    fn = _intrinsics()
    value = {"Fn::Sub": "${Prefix}-${AWS::AccountId}-${Bucket}-${Bucket.Arn}-${!Literal}"}
    assert fn.resolve(value) == "pre-123456789012-ref-Bucket-att-Bucket-Arn-${Literal}"
    assert fn.resolve({"Fn::Sub": ["${X}/${Prefix}", {"X": {"Ref": "Stage"}}]}) == "dev/pre"


def test_if_with_no_value_removes_the_property_and_conditions_combine() -> None:
    fn = _intrinsics()
    resolved = fn.resolve({"A": {"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}, "B": 1})
    assert resolved == {"B": 1}
    assert fn.condition("NotProd") and fn.condition("Both")
    assert _intrinsics({"Stage": "prod"}).resolve({"Fn::If": ["IsProd", "p", "d"]}) == "p"


def test_join_select_split_find_in_map_and_list_parameters() -> None:
    fn = _intrinsics()
    assert fn.resolve({"Fn::Join": ["/", ["a", {"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}]]}) == "a/y"
    assert fn.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "mem"]}) == 128
    assert fn.resolve({"Ref": "Names"}) == ["a", "b"]
    assert fn.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == "att-Bucket-Arn"
    assert fn.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Nope": "x"}, "unknown parameter"),
        ({"Stage": "qa"}, "is not one of"),
        ({"Count": "many"}, "is not a number"),
    ],
)
def test_bad_parameter_overrides_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolve_parameters(TEMPLATE, overrides)


def test_unknown_references_are_template_errors() -> None:
    fn = _intrinsics()
    with pytest.raises(TemplateError, match="unknown name"):
        fn.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="unknown condition"):
        fn.condition("Missing")


def test_globals_merge_maps_add_lists_and_let_the_function_win() -> None:
    template = {
        "Globals": {"Function": {"Timeout": 5, "Layers": ["L1"], "Environment": {"Variables": {"A": "g", "B": "g"}}}},
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Timeout": 9, "Layers": ["L2"], "Environment": {"Variables": {"B": "f"}}},
            }
        },
    }
    apply_function_globals(template)
    props = template["Resources"]["F"]["Properties"]
    assert props == {"Timeout": 9, "Layers": ["L1", "L2"], "Environment": {"Variables": {"A": "g", "B": "f"}}}


def test_load_template_turns_short_form_tags_into_functions(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  A:\n    Type: X\n    Properties:\n      N: !Sub '${AWS::Region}'\n      G: !GetAtt B.Arn\n"
    )
    properties = load_template(path)["Resources"]["A"]["Properties"]
    assert properties == {"N": {"Fn::Sub": "${AWS::Region}"}, "G": {"Fn::GetAtt": ["B", "Arn"]}}


def test_load_template_reports_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources: [unclosed\n")
    with pytest.raises(TemplateError, match="cannot parse"):
        load_template(path)


def test_for_each_generates_one_copy_per_value_with_the_identifier_replaced() -> None:
    template = {
        "Resources": {
            "Kept": {"Type": "AWS::SNS::Topic"},
            "Fn::ForEach::Queues": [
                "Name",
                ["Trigger", "Request"],
                {
                    "${Name}Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tag": {"Ref": "Name"}}},
                    "&{Name}Alarm": {"Properties": {"Of": {"Fn::Sub": "${${Name}Queue.QueueName} ${Other}"}}},
                },
            ],
        }
    }
    resources = expand_for_each(template)["Resources"]
    assert list(resources) == ["Kept", "TriggerQueue", "TriggerAlarm", "RequestQueue", "RequestAlarm"]
    assert resources["RequestQueue"]["Properties"]["Tag"] == "Request"
    assert resources["TriggerAlarm"]["Properties"]["Of"] == {"Fn::Sub": "${TriggerQueue.QueueName} ${Other}"}


@pytest.mark.parametrize(
    "loop",
    [
        ["Name", {"Ref": "Names"}, {"${Name}X": {}}],  # a collection from a parameter: not supported locally
        ["Name", ["A", "A"], {"${Name}X": {}}],  # the same logical id twice
        ["Name", ["A"]],  # no fragment
    ],
)
def test_for_each_rejects_what_it_cannot_expand(loop: list) -> None:
    with pytest.raises(TemplateError):
        expand_for_each({"Resources": {"Fn::ForEach::Loop": loop}})
