"""Reading a SAM template: parameters, conditions, Globals, and CloudFormation intrinsic functions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str


class TemplateError(Exception):
    """The template cannot be deployed locally (bad syntax, unknown reference, bad parameter...)."""


NO_VALUE = object()  # AWS::NoValue: the property is removed
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def load_template(path: Path) -> dict[str, Any]:
    """Parse YAML/JSON with the short-form tags (!Ref, !Sub...) turned into their Fn:: forms."""
    template, problems = decode_str(path.read_text(encoding="utf-8"))
    if template is None or problems:
        raise TemplateError(f"{path}: cannot parse: {'; '.join(str(p) for p in problems)}")
    return expand_for_each(_plain(template))


_FOR_EACH_KEY = re.compile(r"^Fn::ForEach::[A-Za-z0-9]+$")


def expand_for_each(value: Any, bindings: Mapping[str, str] | None = None) -> Any:
    """AWS::LanguageExtensions' loops, expanded the way CloudFormation does before any other transform.

    A mapping entry `Fn::ForEach::<Loop>: [Identifier, [values...], {<key with ${Identifier}>: <body>}]` becomes one
    copy of its fragment per value, with `${Identifier}` and `&{Identifier}` replaced in keys and strings (so also in
    Fn::Sub) and `{"Ref": Identifier}` replaced by the value. Only literal collections are supported.
    """
    bindings = bindings or {}
    if isinstance(value, list):
        return [expand_for_each(item, bindings) for item in value]
    if isinstance(value, str):
        for name, replacement in bindings.items():
            value = value.replace("${" + name + "}", replacement).replace("&{" + name + "}", replacement)
        return value
    if not isinstance(value, Mapping):
        return value
    if set(value) == {"Ref"} and value["Ref"] in bindings:
        return bindings[value["Ref"]]
    expanded: dict[str, Any] = {}
    for key, item in value.items():
        if not _FOR_EACH_KEY.match(key):
            expanded[expand_for_each(key, bindings)] = expand_for_each(item, bindings)
            continue
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], list)):
            raise TemplateError(f"{key}: expected [Identifier, [values...], {{fragment}}]")
        identifier, collection, fragment = item
        for element in collection:
            if not isinstance(element, str):
                raise TemplateError(f"{key}: only a literal list of strings is supported, got {element!r}")
            generated = expand_for_each(fragment, {**bindings, identifier: element})
            duplicates = set(generated) & set(expanded)
            if duplicates:
                raise TemplateError(f"{key}: generates {', '.join(sorted(duplicates))} twice")
            expanded.update(generated)
    return expanded


def _plain(value: Any) -> Any:
    """cfn-lint's node classes -> plain dicts/lists/strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def apply_function_globals(template: dict[str, Any]) -> None:
    """SAM Globals.Function: maps merge (function wins), lists add up (globals first), scalars are overridden."""
    defaults = template.get("Globals", {}).get("Function", {})
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"] = _merge(defaults, resource.get("Properties", {}))


def _merge(base: Any, override: Any) -> Any:
    if (
        isinstance(base, dict)
        and isinstance(override, dict)
        and not _is_intrinsic(base)
        and not _is_intrinsic(override)
    ):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref", "Condition"))


def resolve_parameters(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    declared: dict[str, Any] = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = str(overrides[name])
        elif "Default" in spec:
            value = str(spec["Default"]) if not isinstance(spec["Default"], list) else ",".join(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default and no override")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            try:
                float(value)
            except ValueError:
                raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        is_list = spec.get("Type") == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<")
        values[name] = [v.strip() for v in value.split(",")] if is_list else value
    return values


class Intrinsics:
    """Resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split, Fn::FindInMap, Fn::Equals..."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, Any],
        pseudo: dict[str, str],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
    ) -> None:
        self._template = template
        self._parameters = parameters
        self._pseudo = pseudo
        self._ref = ref
        self._get_att = get_att
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self._template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = self._functions().get(key)
            if handler is not None:
                return handler(argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._fn_ref,
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Sub": self._fn_sub,
            "Fn::Join": lambda a: self.resolve(a[0]).join(str(x) for x in self.resolve(a[1])),
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: self.resolve(a[1]).split(self.resolve(a[0])),
            "Fn::If": lambda a: self.resolve(a[1] if self.condition(a[0]) else a[2]),
            "Fn::Equals": lambda a: str(self.resolve(a[0])) == str(self.resolve(a[1])),
            "Fn::Not": lambda a: not self._truth(a[0]),
            "Fn::And": lambda a: all(self._truth(c) for c in a),
            "Fn::Or": lambda a: any(self._truth(c) for c in a),
            "Condition": self.condition,
            "Fn::FindInMap": self._fn_find_in_map,
            "Fn::GetAZs": lambda _a: [f"{self._pseudo['AWS::Region']}{z}" for z in "abc"],
            "Fn::ToJsonString": lambda a: json.dumps(self.resolve(a), separators=(",", ":")),
            "Fn::Length": lambda a: len(self.resolve(a)),
        }

    def _truth(self, condition: Any) -> bool:
        return bool(self.resolve(condition))

    def _fn_ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._template.get("Resources", {}):
            return self._ref(name)
        raise TemplateError(f"Ref to unknown name {name}")

    def _fn_get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
        if logical_id not in self._template.get("Resources", {}):
            raise TemplateError(f"GetAtt of unknown resource {logical_id}")
        return self._get_att(logical_id, attribute)

    def _fn_sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} escapes a substitution
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] in self._template.get("Resources", {}):
                return str(self._fn_get_att(name))
            return str(self._fn_ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _fn_find_in_map(self, argument: list[Any]) -> Any:
        name, first, second = (self.resolve(a) for a in argument[:3])
        try:
            return self._template["Mappings"][name][first][second]
        except KeyError:
            raise TemplateError(f"FindInMap: no {name}/{first}/{second}") from None
