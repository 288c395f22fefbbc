"""Stack settings: wrong values stop the program before any resource, naming every bad key."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from conduit.project import copy_project
from infra.stack_settings import StackSettingsError, parse_settings
from tests.conftest import REPO

VALID = {"systems": '["message-ingest"]', "logRetentionDays": "14"}


def test_engine_strings_are_parsed_into_typed_settings():
    settings = parse_settings({**VALID, "protectData": "false", "messageIngest": '{"batchSize": 5}'})
    assert settings.log_retention_days == 14 and settings.protect_data is False
    assert settings.message_ingest.batch_size == 5
    assert settings.enabled("message-ingest")


def test_every_fault_is_named_in_one_message():
    with pytest.raises(StackSettingsError) as error:
        parse_settings({"systems": '["message-ingest", "teleporter"]', "logRetentionDays": "13",
                        "alarmEmail": "nobody", "messageIngest": '{"batchSize": 11}', "logRetentionDay": "14"})
    message = str(error.value)
    assert "5 invalid setting(s)" in message
    assert "conduit:systems.1 = 'teleporter'" in message
    assert "conduit:logRetentionDays = '13': must be one of CloudWatch's retention periods" in message
    assert "conduit:alarmEmail = 'nobody'" in message
    assert "conduit:messageIngest.batchSize = 11" in message
    assert "conduit:logRetentionDay: unknown setting" in message
    assert "known settings at the top level: alarmEmail, catFeeder" in message


def test_an_unknown_nested_setting_is_answered_with_its_siblings():
    with pytest.raises(StackSettingsError) as error:
        parse_settings({**VALID, "messageIngest": '{"batchsize": 3}',
                        "catFeeder": '{"feeders": [{"name": "a", "rotaton": "2"}]}'})
    message = str(error.value)
    assert ("conduit:messageIngest.batchsize: unknown setting (value 3); known settings in conduit:messageIngest: "
            "apiBurstLimit, apiRateLimit, batchSize, maxBatchingWindowSeconds") in message
    assert "known settings in conduit:catFeeder.feeders[0]: name, rotation" in message
    assert "logRetentionDays" not in message.split("known settings in conduit:messageIngest")[1]


def test_missing_required_setting_says_where_to_add_it():
    with pytest.raises(StackSettingsError, match=r"conduit:systems: required but not set; add it to Pulumi"):
        parse_settings({})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stacks_are_valid(stack):
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in document.items() if k.startswith("conduit:")}
    parse_settings({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})


def test_a_broken_stack_file_fails_the_preview_naming_the_key(tmp_path):
    project = tmp_path / "project"
    copy_project(REPO, project)
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("conduit:logRetentionDays: 14",
                                                         "conduit:logRetentionDays: fortnight"))
    result = subprocess.run([sys.executable, "-m", "conduit.main", "preview", "--stack", "dev",
                             "--project-dir", str(project)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stdout
    assert "conduit:logRetentionDays = 'fortnight'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_stack_accepts_a_100_mb_csv(stack):
    """A file is read in chunks with continuations: the size cap bounds cost, and a 1,000,000-row
    (66 MB) or 100 MB file must not be quarantined whole by it."""
    config = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = {k.removeprefix("conduit:"): v if isinstance(v, str) else json.dumps(v)
              for k, v in config.items() if k.startswith("conduit:")}
    assert parse_settings(values).message_ingest.max_csv_bytes >= 100 * 1024 * 1024
