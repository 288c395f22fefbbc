"""The offline engine on programs shaped like the world's: each crash class seen on real public
programs reproduced by a small program that must now be judged, and `--preview` mode."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conduit.check import judge
from conduit.runner import Mode, OfflineRun, ProgramError, run_stack, run_stacks
from tests.conftest import REPO


def program(tmp_path: Path, source: str, name: str = "world") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (folder / "Pulumi.t.yaml").write_text("config:\n  aws:region: us-west-2\n")
    (folder / "__main__.py").write_text(textwrap.dedent(source))
    return folder


def conduit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=cwd)


def test_resources_passed_as_inputs_and_exported_do_not_break_the_engine(tmp_path):
    """Resource references: 'attached to a different loop' with the SDK's mock monitor as it is."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        class Site(pulumi.ComponentResource):
            def __init__(self, name):
                super().__init__("acme:web:Site", name)
                self.bucket = aws.s3.Bucket(f"{name}-files", opts=pulumi.ResourceOptions(parent=self))
                self.register_outputs({"bucket": self.bucket})
        site = Site("site")
        aws.s3.BucketObject("index", bucket=site.bucket, content="hello")
        pulumi.export("site", site)
        pulumi.export("bucket", site.bucket)
    """)
    document = run_stack(project, "t")
    [index] = [r for r in document.resources if r.name == "index"]
    [files] = [r for r in document.resources if r.name == "site-files"]
    assert index.inputs["bucket"] == files.inputs["bucket"], "a resource input travels as its id"
    assert index.inputs["bucket"].startswith("site-files-"), "the name the provider makes"
    assert document.outputs["bucket"]["arn"].startswith("arn:aws:s3:::")


def test_computed_outputs_a_program_reads_are_there_and_shaped_like_aws(tmp_path):
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        api = aws.apigateway.RestApi("api")
        aws.apigateway.Resource("proxy", rest_api=api.id, parent_id=api.root_resource_id, path_part="{proxy+}")
        source = api.execution_arn.apply(lambda arn: arn.split(":")[2] + "/*")
        aws.lambda_.Permission("invoke", action="lambda:InvokeFunction", function="fn",
                               principal="apigateway.amazonaws.com", source_arn=source)
        web = aws.ec2.Instance("web", ami="ami-1", instance_type="t3.micro")
        pulumi.export("ip", web.public_ip)
        pulumi.export("dns", web.public_dns)
        pulumi.export("domain", aws.s3.Bucket("b").bucket_regional_domain_name)
    """)
    document = run_stack(project, "t")
    [proxy] = [r for r in document.resources if r.name == "proxy"]
    assert proxy.inputs["parentId"], "root_resource_id is computed by the provider"
    [permission] = [r for r in document.resources if r.name == "invoke"]
    assert permission.inputs["sourceArn"] == "execute-api/*"
    assert document.outputs["ip"] == "203.0.113.10" and document.outputs["domain"].endswith(".amazonaws.com")


def test_common_data_sources_answer_plausibly(tmp_path):
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        zones = aws.get_availability_zones(state="available")
        ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"],
                              filters=[{"name": "name", "values": ["al2023-ami-*"]}])
        zone = aws.route53.get_zone(name="example.com")
        vpc = aws.ec2.get_vpc(default=True)
        subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
        me, region = aws.get_caller_identity(), aws.get_region()
        aws.ec2.Instance("web", ami=ami.id, instance_type="t3.micro", availability_zone=zones.names[0],
                         subnet_id=subnets.ids[0])
        aws.route53.Record("www", zone_id=zone.zone_id, name="www", type="A", ttl=60, records=["203.0.113.10"])
        pulumi.export("where", f"{me.account_id}/{region.region}/{zones.zone_ids[1]}")
    """)
    document = run_stack(project, "t")
    [web] = [r for r in document.resources if r.name == "web"]
    assert web.inputs["ami"].startswith("ami-") and web.inputs["availabilityZone"].endswith("a")
    assert web.inputs["subnetId"].startswith("subnet-")
    [record] = [r for r in document.resources if r.name == "www"]
    assert record.inputs["zoneId"].startswith("Z")
    assert document.outputs["where"].startswith("123456789012/")


def test_a_program_that_cannot_run_is_named_at_its_line_without_a_traceback(tmp_path):
    project = program(tmp_path, """
        import pulumi_aws as aws
        vpc = aws.ec2.get_vpc(default=True)
        subnets = aws.ec2.get_subnet_ids(vpc_id=vpc.id)  # removed from pulumi_aws long ago
    """)
    result = conduit("check", "--stack", "t", "-C", str(project))
    assert result.returncode == 2
    assert "the program raised AttributeError" in result.stderr and "get_subnet_ids" in result.stderr
    assert f"{project / '__main__.py'}:4:" in result.stderr
    assert "Traceback" not in result.stderr
    verbose = conduit("check", "--stack", "t", "-C", str(project), "--verbose")
    assert "Traceback" in verbose.stderr


def test_a_run_that_hangs_is_stopped_by_its_timeout(tmp_path):
    project = program(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(ProgramError, match="did not finish within 2 s"):
        run_stack(project, "t", timeout_seconds=2)
    result = conduit("preview", "--stack", "t", "-C", str(project), "--timeout", "2")
    assert result.returncode == 2 and "--timeout" in result.stderr


PREVIEW_PROGRAM = """
    import json, pulumi, pulumi_aws as aws
    TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"Service": "lambda.amazonaws.com"}}]})
    role = aws.iam.Role("role", assume_role_policy=TRUST)
    bucket = aws.s3.Bucket("files")
    # A literal wildcard: decided whatever is unknown.
    aws.iam.RolePolicy("admin", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    # Built from an ARN that does not exist yet: unjudged in a preview.
    aws.iam.RolePolicy("reader", role=role.id, policy=pulumi.Output.json_dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": bucket.arn}]}))
    aws.sqs.Queue("work", sqs_managed_sse_enabled=True)  # no redrive: a missing setting is known
"""


def test_preview_mode_decides_literal_violations_and_lists_what_it_cannot_judge(tmp_path):
    project = program(tmp_path, PREVIEW_PROGRAM)
    verdict = judge(run_stack(project, "t", mode=Mode.UNKNOWN), "world")
    found = {(v.policy, v.urn.rsplit("::", 1)[1]) for v in verdict.violations if v.enforcement == "mandatory"}
    assert ("iam-no-wildcard-actions", "admin") in found
    assert ("sqs-dead-letter-queue", "work") in found
    assert not [v for v in verdict.violations if v.urn.endswith("::reader")]
    unjudged = {(u["policy"], u["urn"].rsplit("::", 1)[1], u["path"]) for u in verdict.unjudged}
    assert ("iam-no-wildcard-actions", "reader", ".policy") in unjudged
    full = judge(run_stack(project, "t"), "world")
    assert full.unjudged == [] and not [v for v in full.violations if v.urn.endswith("::reader")]


def test_check_preview_json_and_text_say_what_was_unjudged(tmp_path):
    project = program(tmp_path, PREVIEW_PROGRAM)
    result = conduit("check", "--stack", "t", "-C", str(project), "--preview", "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert {"violations", "unjudged"} <= set(document)
    assert all(set(u) == {"policy", "urn", "path"} for u in document["unjudged"]) and document["unjudged"]
    text = conduit("check", "--stack", "t", "-C", str(project), "--preview").stdout
    assert "without --preview" in text
    # The count says what it counts: resources, and the (policy, resource) checks left undecided.
    resources = {u["urn"] for u in document["unjudged"]}
    checks = {(u["policy"], u["urn"]) for u in document["unjudged"]}
    assert f"{len(resources)} resource(s) left unjudged by {len(checks)} policy check(s)" in text


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_conduits_own_stacks_pass_in_preview_mode_too(stack):
    verdict = judge(run_stack(REPO, stack, mode=Mode.UNKNOWN), "conduit")
    assert [v for v in verdict.violations if v.enforcement == "mandatory"] == []


def test_provider_components_and_other_providers_get_plausible_outputs(tmp_path):
    """awsx's components are built by the provider: their outputs (subnet ids, ...) must be there."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws, pulumi_awsx as awsx, pulumi_random as random
        vpc = awsx.ec2.Vpc("vpc", number_of_availability_zones=2)
        password = random.RandomPassword("password", length=20)
        aws.rds.SubnetGroup("db", subnet_ids=vpc.private_subnet_ids)
        pulumi.export("first", vpc.public_subnet_ids.apply(lambda ids: ids[0]))
        pulumi.export("length", password.result.apply(len))
    """)
    document = run_stack(project, "t")
    [group] = [r for r in document.resources if r.name == "db"]
    assert len(group.inputs["subnetIds"]) == 2
    assert document.outputs["first"] and document.outputs["length"] > 0


def test_classes_are_found_while_another_thread_is_still_loading_their_package(monkeypatch):
    """The mock monitor answers on executor threads while the program loads provider packages
    (lazy modules, which Python 3.11 shows half-loaded to other threads): a class must be found
    through the file that defines it, or its computed outputs are silently never made."""
    import types

    import pulumi_aws.ec2.instance as instance_file

    from conduit.offline.plausible import resource_class, resource_outputs, result_class

    half_loaded = types.ModuleType("pulumi_aws.ec2")  # what another thread mid-load shows: no members yet
    monkeypatch.setitem(sys.modules, "pulumi_aws.ec2", half_loaded)
    assert resource_class("aws:ec2/instance:Instance") is instance_file.Instance
    assert resource_outputs("aws:ec2/instance:Instance", "web", {"ami": "ami-1"})["publicIp"] == "203.0.113.10"
    assert result_class("aws:ec2/getAmi:getAmi").__name__.endswith("GetAmiResult")


@pytest.mark.parametrize(("token", "file"), [
    ("aws:lambda/function:Function", "pulumi_aws.lambda_.function"),
    ("aws:appsync/graphQLApi:GraphQLApi", "pulumi_aws.appsync.graph_ql_api"),
    ("aws:guardduty/iPSet:IPSet", "pulumi_aws.guardduty.ip_set"),
    ("aws:glue/mLTransform:MLTransform", "pulumi_aws.glue.ml_transform"),
    ("aws:cloud9/environmentEC2:EnvironmentEC2", "pulumi_aws.cloud9.environment_ec2"),
    ("random:index/randomPassword:RandomPassword", "pulumi_random.random_password"),
])
def test_a_type_token_names_the_file_its_sdk_defines_it_in(token, file):
    from conduit.offline.plausible import resource_class

    assert resource_class(token).__module__ == file


def test_referenced_stacks_and_existing_resources_answer_what_the_program_asks(tmp_path):
    """A StackReference's outputs cannot be read offline (get_output gave None, require_output a
    crash): each asked-for output gets a value shaped by its name. A read (`Vpc.get`) gets the whole
    state a provider reads back, its own id kept."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        network = pulumi.StackReference("acme/network/prod")
        subnets = network.require_output("privateSubnetIds")
        existing = aws.ec2.Vpc.get("existing", "vpc-0123456789")
        logs = aws.s3.Bucket.get("logs", "acme-logs")
        sg = aws.ec2.SecurityGroup("sg", vpc_id=network.get_output("vpcId"), description="web")
        aws.ec2.Instance("web", ami="ami-1", instance_type="t3.micro", subnet_id=subnets.apply(lambda ids: ids[0]),
                         vpc_security_group_ids=[sg.id])
        pulumi.export("cidr", existing.cidr_block)
        pulumi.export("existing", existing.id)
        pulumi.export("logs", logs.arn)
    """)
    for mode in Mode.PLAUSIBLE, Mode.UNKNOWN:
        document = run_stack(project, "t", mode=mode)
        inputs = {r.name: r.inputs for r in document.resources}
        assert inputs["sg"]["vpcId"].startswith("vpc-") and inputs["web"]["subnetId"].startswith("subnet-"), mode
        assert document.outputs["existing"] == "vpc-0123456789" and document.outputs["cidr"], mode
        assert document.outputs["logs"] == "arn:aws:s3:::acme-logs", mode
    assert inputs["web"]["vpcSecurityGroupIds"] == [rpc_unknown()], "in a preview a new group's id is unknown"
    ids = {r.id for r in run_stack(project, "t").resources if r.name == "sg"}
    assert all(i.startswith("sg-") for i in ids), "an id shaped as AWS shapes the kind's"


def rpc_unknown() -> str:
    from pulumi.runtime import rpc

    return rpc.UNKNOWN


def test_resources_a_providers_component_hands_back_can_be_read(tmp_path):
    """awsx builds its children in the provider and hands them back as resources: a program reads
    `lb.load_balancer.dns_name` and `vpc.private_subnets[0].id`, which were None offline."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws, pulumi_awsx as awsx
        lb = awsx.lb.ApplicationLoadBalancer("lb")
        vpc = awsx.ec2.Vpc("vpc")
        aws.ec2.SecurityGroup("db", vpc_id=vpc.vpc.id, description="db")
        pulumi.export("url", pulumi.Output.concat("http://", lb.load_balancer.dns_name))
        pulumi.export("first", vpc.private_subnets.apply(lambda subnets: subnets[0].id))
    """)
    document = run_stack(project, "t")
    assert document.outputs["url"].startswith("http://") and document.outputs["url"].endswith(".amazonaws.com")
    assert document.outputs["first"].startswith("subnet-")
    [group] = [r for r in document.resources if r.name == "db"]
    assert group.inputs["vpcId"].startswith("vpc-")
    preview = run_stack(project, "t", mode=Mode.UNKNOWN)
    assert preview.outputs["url"] == rpc_unknown(), "in a preview the load balancer's DNS name is not known yet"
    assert [r for r in preview.resources if r.name == "db"]


def test_an_eks_cluster_with_kubernetes_workloads_runs_and_reads_deep_status(tmp_path):
    """EKS's node group nests security groups (resources) inside an output type; a Service's
    status is four levels deep; Kubernetes names every object whether or not metadata was set,
    and its `ServiceArgs` is the object's shape (status included), not the constructor's inputs."""
    project = program(tmp_path, """
        import pulumi, pulumi_awsx as awsx, pulumi_eks as eks, pulumi_kubernetes as k8s
        vpc = awsx.ec2.Vpc("vpc")
        cluster = eks.Cluster("eks", vpc_id=vpc.vpc_id, private_subnet_ids=vpc.private_subnet_ids)
        provider = k8s.Provider("k8s", kubeconfig=cluster.kubeconfig)
        labels = {"app": "web"}
        web = k8s.apps.v1.Deployment("web", metadata={"labels": labels}, spec={
            "selector": {"match_labels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            opts=pulumi.ResourceOptions(provider=provider))
        service = k8s.core.v1.Service("web", spec={"type": "LoadBalancer", "selector": labels, "ports": [{"port": 80}]},
                                      opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("host", service.status.load_balancer.ingress[0].hostname)
        pulumi.export("name", web.metadata.name)
        pulumi.export("labels", web.metadata.labels)
    """)
    outputs = run_stack(project, "t").outputs
    assert outputs["host"] and outputs["name"].startswith("web-") and outputs["labels"] == {"app": "web"}
    assert run_stack(project, "t", mode=Mode.UNKNOWN).resources


def test_a_program_importing_a_package_not_installed_says_where_to_install_it(tmp_path):
    project = program(tmp_path, "import pulumi_not_a_provider\n")
    result = conduit("check", "--stack", "t", "-C", str(project))
    assert result.returncode == 2 and "pulumi_not_a_provider is not installed for" in result.stderr
    assert "runtime.options.virtualenv" in result.stderr


def test_a_key_of_a_map_the_provider_fills_is_there(tmp_path):
    """`api.uris["GRAPHQL"]` raised KeyError offline: the provider fills the map, the engine made it empty."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        api = aws.appsync.GraphQLApi("api", authentication_type="API_KEY", name="tenants")
        pulumi.export("endpoint", api.uris["GRAPHQL"])
        pulumi.export("mine", pulumi.Output.from_input({"a": "b"})["a"])
    """)
    outputs = run_stack(project, "t").outputs
    assert outputs["endpoint"] and outputs["mine"] == "b"
    assert run_stack(project, "t", mode=Mode.UNKNOWN).outputs["endpoint"] == rpc_unknown()


def test_values_are_shaped_for_the_stacks_region_and_the_service(tmp_path):
    """Zones, ARNs and endpoints of the stack's own region (and partition); IAM ARNs name no
    region; a secret's string parses as the JSON programs read; a database endpoint is host:port."""
    project = program(tmp_path, """
        import json, pulumi, pulumi_aws as aws
        creds = json.loads(aws.secretsmanager.get_secret_version(secret_id="db").secret_string)
        zones = aws.get_availability_zones()
        db = aws.rds.Instance("db", engine="postgres", instance_class="db.t3.micro", allocated_storage=20,
                              username=creds["username"], password=creds["password"], storage_encrypted=True,
                              availability_zone=zones.names[0])
        pulumi.export("role", aws.iam.get_role(name="deployer").arn)
        pulumi.export("zone_id", zones.zone_ids[0])
        pulumi.export("endpoint", db.endpoint)
        pulumi.export("partition", aws.get_partition().partition)
    """)
    (project / "Pulumi.gov.yaml").write_text("config:\n  aws:region: us-gov-west-1\n")
    document = run_stack(project, "t")
    [db] = [r for r in document.resources if r.name == "db"]
    assert db.inputs["availabilityZone"] == "us-west-2a" and db.inputs["username"]
    outputs = document.outputs
    assert outputs["role"] == "arn:aws:iam::123456789012:role/deployer" and outputs["zone_id"] == "usw2-az1"
    host, port = outputs["endpoint"].rsplit(":", 1)
    assert host.endswith(".us-west-2.rds.amazonaws.com") and port.isdigit()
    gov = run_stack(project, "gov").outputs
    assert gov["partition"] == "aws-us-gov" and gov["role"].startswith("arn:aws-us-gov:iam::")


def test_a_fresh_clone_of_a_public_program_runs_as_it_is(tmp_path):
    """Public programs name a virtualenv that `pulumi install` has not made yet, commit no stack
    file, and declare their settings with defaults in Pulumi.yaml: all three must just run."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(textwrap.dedent("""
        name: site
        runtime:
          name: python
          options:
            virtualenv: venv
        config:
          aws:region: us-east-2
          indexDocument:
            type: string
            default: index.html
          tags:
            value: {team: web}
    """))
    (folder / "__main__.py").write_text(textwrap.dedent("""
        import pulumi, pulumi_aws as aws
        config = pulumi.Config()
        bucket = aws.s3.BucketV2("site", tags=config.require_object("tags"))
        aws.s3.BucketWebsiteConfigurationV2("web", bucket=bucket.id,
                                            index_document={"suffix": config.require("indexDocument")})
        pulumi.export("region", aws.get_region().name)
    """))
    result = conduit("preview", "--stack", "dev", "-C", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    assert "venv" in result.stderr and "no stack files" in result.stderr
    document = json.loads(result.stdout)
    web = next(r for r in document["resources"] if r["name"] == "web")
    assert web["inputs"]["indexDocument"] == {"suffix": "index.html"}
    assert next(r for r in document["resources"] if r["name"] == "site")["inputs"]["tags"] == {"team": "web"}
    assert document["outputs"]["region"] == "us-east-2"
    (folder / "Pulumi.prod.yaml").write_text("config:\n  site:indexDocument: home.html\n")
    typo = conduit("preview", "--stack", "prd", "-C", str(folder))
    assert typo.returncode == 2 and "no stack file Pulumi.prd.yaml" in typo.stderr and "prod" in typo.stderr
    prod = json.loads(conduit("preview", "--stack", "prod", "-C", str(folder), "--json").stdout)
    web = next(r for r in prod["resources"] if r["name"] == "web")
    assert web["inputs"]["indexDocument"] == {"suffix": "home.html"}


def test_a_dynamic_resources_declared_outputs_are_there_without_running_its_provider(tmp_path):
    """Only the program's provider `create` makes them, and it must never run offline (it would
    reach the cloud): the outputs the resource declares (props given as None) are made by name."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        from pulumi.dynamic import CreateResult, Resource, ResourceProvider

        class Provider(ResourceProvider):
            def create(self, props):
                raise RuntimeError("a provider's create ran offline")

        class Token(Resource):
            token: pulumi.Output[str]

            def __init__(self, name, length):
                super().__init__(Provider(), name, {"token": None, "length": length})

        token = Token("token", 12)
        aws.ssm.Parameter("secret", type="SecureString", value=token.token.apply(lambda v: v.upper()))
        pulumi.export("length", token.length)
    """)
    document = run_stack(project, "t")
    [parameter] = [r for r in document.resources if r.name == "secret"]
    assert parameter.inputs["value"] and document.outputs["length"] == 12


def test_the_empty_outputs_of_set_mocks_own_stack_never_erase_the_programs():
    """The SDK's set_mocks registers a root stack of its own under the program's stack URN; its
    empty outputs run on the loop beside the program's and, landing last, once erased every export
    (CI's KeyError). The order is the loop's: here both orders are played to the monitor."""
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import resource_pb2

    from conduit.offline.cloud import FakeCloud
    from conduit.offline.engine import RecordingMonitor
    from conduit.run_record import RunRecord

    urn = "urn:pulumi:t::world::pulumi:pulumi:Stack::world-t"
    program_outputs = struct_pb2.Struct()
    program_outputs.update({"answer": 42})
    for order in ([program_outputs, struct_pb2.Struct()], [struct_pb2.Struct(), program_outputs]):
        run = RunRecord("t", [])
        monitor = RecordingMonitor(FakeCloud(), run)
        monitor._stack_urn = urn
        for outputs in order:
            monitor.RegisterResourceOutputs(resource_pb2.RegisterResourceOutputsRequest(urn=urn, outputs=outputs))
        assert run.outputs == {"answer": 42}


def test_a_setting_beside_an_unknown_value_is_still_judged_in_a_preview(tmp_path):
    """A Scheduler schedule keeps its DLQ in `target`, beside the target's ARN, which a preview does
    not know: the missing DLQ was read as 'set' and the schedule passed silently. A queue that is
    only a schedule's target must not count as a dead-letter queue either."""
    project = program(tmp_path, """
        import json, pulumi, pulumi_aws as aws
        role = aws.iam.Role("role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "scheduler.amazonaws.com"}}]}))
        work = aws.sqs.Queue("work", sqs_managed_sse_enabled=True)
        aws.scheduler.Schedule("nightly", schedule_expression="rate(1 day)", flexible_time_window={"mode": "OFF"},
                               target={"arn": work.arn, "role_arn": role.arn})
    """)
    verdict = judge(run_stack(project, "t", mode=Mode.UNKNOWN), "world")
    found = {(v.policy, v.urn.rsplit("::", 1)[1]) for v in verdict.violations if v.enforcement == "mandatory"}
    assert ("eventbridge-target-dead-letter", "nightly") in found
    assert ("sqs-dead-letter-queue", "work") in found


def test_an_ecr_login_decodes_as_programs_decode_it(tmp_path):
    """Programs log in to ECR by decoding the token and splitting `AWS:<password>`."""
    project = program(tmp_path, """
        import base64, pulumi, pulumi_aws as aws
        repo = aws.ecr.Repository("app")
        def login(registry_id):
            creds = aws.ecr.get_credentials(registry_id=registry_id)
            user, password = base64.b64decode(creds.authorization_token).decode().split(":")
            return user
        pulumi.export("user", repo.registry_id.apply(login))
    """)
    assert run_stack(project, "t").outputs["user"] == "AWS"


def test_a_setting_whose_value_is_an_unknown_arn_is_set_in_a_preview(tmp_path):
    """Each validator reads only what it needs: a log destination, an error action's queue, an
    on-failure destination, a key or a DLQ whose ARN a preview does not know is set all the same,
    and a format or retry policy written beside it is read. None may stay unjudged."""
    project = program(tmp_path, """
        import json, pulumi, pulumi_aws as aws
        key = aws.kms.Key("key", enable_key_rotation=True)
        dlq = aws.sqs.Queue("dlq", kms_master_key_id=key.arn)
        logs = aws.cloudwatch.LogGroup("logs", retention_in_days=30)
        api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
        aws.apigatewayv2.Stage("stage", api_id=api.id, name="$default", auto_deploy=True,
                               access_log_settings={"destination_arn": logs.arn,
                                                    "format": '{"id":"$context.requestId"}'},
                               default_route_settings={"throttling_burst_limit": 10, "throttling_rate_limit": 5})
        role = aws.iam.Role("role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "iot.amazonaws.com"}}]}))
        aws.iot.TopicRule("rule", enabled=True, sql="SELECT * FROM 'a/b'", sql_version="2016-03-23",
                          sqs=[{"queue_url": dlq.url, "role_arn": role.arn, "use_base64": False}],
                          error_action={"sqs": {"queue_url": dlq.url, "role_arn": role.arn, "use_base64": False}})
        table = aws.dynamodb.Table("table", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                                   billing_mode="PAY_PER_REQUEST", stream_enabled=True, stream_view_type="NEW_IMAGE",
                                   server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
                                   point_in_time_recovery={"enabled": True})
        aws.lambda_.EventSourceMapping("changes", event_source_arn=table.stream_arn, function_name="consumer",
                                       starting_position="LATEST", maximum_retry_attempts=2,
                                       bisect_batch_on_function_error=True,
                                       destination_config={"on_failure": {"destination_arn": dlq.arn}})
        bus = aws.cloudwatch.EventBus("bus")
        rule = aws.cloudwatch.EventRule("rule-clicks", event_bus_name=bus.name, event_pattern='{"source": ["a"]}')
        aws.cloudwatch.EventTarget("target", rule=rule.name, event_bus_name=bus.name, arn=dlq.arn,
                                   dead_letter_config={"arn": dlq.arn},
                                   retry_policy={"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 600})
    """)
    verdict = judge(run_stack(project, "t", mode=Mode.UNKNOWN), "world")
    watched = {"apigateway-access-logging", "apigateway-structured-logging", "iot-rule-error-action",
               "stream-mapping-failure-handling", "encryption-at-rest", "eventbridge-target-dead-letter",
               "eventbridge-target-retry-policy"}
    assert [u for u in verdict.unjudged if u["policy"] in watched] == []
    assert [(v.policy, v.urn) for v in verdict.violations if v.policy in watched] == []


def test_an_awsx_vpc_has_one_subnet_per_zone_for_each_spec_in_order(tmp_path):
    """Programs index awsx's lists by its layout: 3 zones by default, specs in order (a real program,
    pulumi/examples' hub-and-spoke network, reads isolated_subnet_ids[3..5] for its second spec)."""
    project = program(tmp_path, """
        import pulumi, pulumi_awsx as awsx
        vpc = awsx.ec2.Vpc("spoke", subnet_specs=[
            awsx.ec2.SubnetSpecArgs(name="private", type=awsx.ec2.SubnetType.ISOLATED, cidr_mask=28),
            awsx.ec2.SubnetSpecArgs(name="tgw", type=awsx.ec2.SubnetType.ISOLATED, cidr_mask=28)])
        two = awsx.ec2.Vpc("two", number_of_availability_zones=2)
        pulumi.export("tgw", vpc.isolated_subnet_ids.apply(lambda ids: ids[3:]))
        pulumi.export("counts", pulumi.Output.all(two.public_subnet_ids, two.private_subnet_ids,
                                                  two.isolated_subnet_ids).apply(lambda l: [len(x) for x in l]))
    """)
    outputs = run_stack(project, "t").outputs
    assert len(outputs["tgw"]) == 3 and all(i.startswith("subnet-") for i in outputs["tgw"])
    assert outputs["counts"] == [2, 2, 0]


def test_a_check_is_a_preview_to_the_program_and_data_source_arguments_come_back_as_the_provider_reads_them(
        tmp_path):
    """pulumi/examples' static website refuses a placeholder domain outside a preview; its ECS example
    passes most_recent="true" to get_ami, which the provider hands back as a bool."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        if not pulumi.runtime.is_dry_run():
            raise Exception("only pulumi up gets here")
        ami = aws.ec2.get_ami(most_recent="true", owners=["amazon"])
        pulumi.export("latest", ami.most_recent)
    """)
    assert run_stack(project, "t").outputs["latest"] is True


def test_content_a_data_source_made_up_parses_as_the_program_parses_it(tmp_path):
    """An SSM parameter's value or an S3 object's body parsed as JSON: a document answering any key by
    name, where json.loads of the made-up string would have ended the run; a secret parses as the
    database credentials Secrets Manager documents; the program's own bad JSON still fails."""
    project = program(tmp_path, """
        import json, pulumi, pulumi_aws as aws
        settings = json.loads(aws.ssm.get_parameter(name="/app/settings").value)
        body = json.loads(aws.s3.get_object(bucket="cfg", key="app.json").body)
        creds = json.loads(aws.secretsmanager.get_secret_version(secret_id="db").secret_string)
        aws.sqs.Queue("q", visibility_timeout_seconds=int(settings.get("timeout", 30)))
        pulumi.export("read", [body["bucketName"], creds["username"]])
    """)
    assert run_stack(project, "t").outputs["read"][1] == "admin"
    broken = program(tmp_path, "import json\njson.loads('not json')\n", name="broken")
    with pytest.raises(ProgramError):
        run_stack(broken, "t")


def test_outputs_a_resource_declares_secret_are_masked_in_the_record(tmp_path):
    """`additional_secret_outputs` are secrets in the engine's state; the mock monitor hands them back
    bare, so the record marks them itself (and an offline run masks every secret)."""
    project = program(tmp_path, """
        import pulumi, pulumi_aws as aws
        aws.sqs.Queue("q", opts=pulumi.ResourceOptions(additional_secret_outputs=["arn"]))
        aws.sqs.Queue("plain")
    """)
    queues = {r.name: r for r in run_stack(project, "t").custom}  # registered in either order
    secret, plain = queues["q"], queues["plain"]
    assert secret.outputs["arn"] == "[secret]" and plain.outputs["arn"].startswith("arn:aws:sqs:us-west-2:")


def test_a_batch_run_that_hangs_ends_in_its_own_error_and_the_other_child_finishes(tmp_path):
    hang = program(tmp_path, "import time\ntime.sleep(60)\n", name="hang")
    clean = program(tmp_path, "import pulumi_aws as aws\naws.s3.BucketV2('b')\n", name="clean")
    hung, done = run_stacks([OfflineRun(hang, "t"), OfflineRun(clean, "t")], children=2, timeout_seconds=3)
    assert isinstance(hung, ProgramError) and "did not finish" in str(hung)
    assert "within 3 s" in hung.details
    assert not isinstance(done, ProgramError) and [r.name for r in done.custom] == ["b"]
