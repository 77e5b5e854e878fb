"""The README's deploy steps work for any stack name and any region: every AWS CLI call names the region and the
stack from the variables set at the top, the secret is found through the stack's outputs, and the last step is the
post-deploy smoke test."""

from __future__ import annotations

import re

from tests.infra.conftest import REPO

REGION_NAME = re.compile(r"\b(?:[a-z]{2}|us-gov|cn)-[a-z]+-\d\b")


def deploy_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deploy to AWS", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    joined = re.sub(r"\$\(\n\s*", "$(", joined)
    return [line.split("#", 1)[0].strip() for line in joined.splitlines() if line.split("#", 1)[0].strip()]


def aws_cli_calls(command: str) -> list[str]:
    """Every `aws <service> <operation> ...` in a command line, nested `$(...)` ones included, each up to the next."""
    starts = [match.start() for match in re.finditer(r"(?<![\w-])aws [a-z0-9-]+ [a-z0-9-]+", command)]
    bounds = [*starts, len(command)]
    return [command[bounds[index] : bounds[index + 1]] for index in range(len(starts))]


def test_stack_name_and_region_are_chosen_once_at_the_top():
    commands = deploy_commands()
    assert re.fullmatch(r"STACK=\S+ REGION=\S+", commands[0]), commands[0]
    for command in commands[1:]:
        assert not REGION_NAME.search(command), f"hard-coded region in {command!r}"
        for value in re.findall(r"--stack-name\s+(\S+)", command):
            assert value == '"$STACK"', f"hard-coded stack name in {command!r}"


def test_every_aws_call_names_the_region_and_the_stack():
    calls = [call for command in deploy_commands() for call in aws_cli_calls(command)]
    assert any(call.startswith("aws secretsmanager put-secret-value") for call in calls)
    for call in calls:
        assert '--region "$REGION"' in call, f"{call!r} would use the CLI's default region"
    describe = next(call for call in calls if call.startswith("aws cloudformation describe-stacks"))
    assert '--stack-name "$STACK"' in describe and "ProviderApiKeySecretArn" in describe
    sam = next(command for command in deploy_commands() if " deploy" in command and "sam" in command)
    assert '--stack-name "$STACK"' in sam and '--region "$REGION"' in sam


def test_the_last_step_is_the_smoke_test():
    last = deploy_commands()[-1]
    assert last.startswith('make smoke STACK="$STACK" REGION="$REGION"'), last
