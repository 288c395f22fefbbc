"""`conduit diagram`: a Mermaid flowchart of what a stack deploys, drawn from the program itself.

Nodes are the resources data flows through (APIs, functions, queues, topics, tables, buckets,
buses, rules); edges are the connections the program declares (event source mappings, bucket
notifications, topic rules, EventBridge rules and targets, subscriptions, API integrations) and
where failures go (dead-letter queues, failure destinations, error actions), dashed. Resources are
grouped by the system (top-level component) they belong to. GitHub renders the result in Markdown.
"""

from __future__ import annotations

import re
from collections import defaultdict

from conduit.mqtt_topics import topic_matches
from conduit.run_record import RecordedResource, RunRecord
from conduit_policies.documents import as_list, statements_of

# type -> (what it is, Mermaid shape, node id prefix)
NODE_KINDS = {
    "aws:apigatewayv2/api:Api": ("API", "([{}])", "api"),
    "aws:lambda/function:Function": ("function", "[{}]", "fn"),
    "aws:sqs/queue:Queue": ("queue", "[/{}/]", "q"),
    "aws:sns/topic:Topic": ("topic", "{{{{{}}}}}", "sns"),
    "aws:dynamodb/table:Table": ("table", "[({})]", "db"),
    "aws:s3/bucket:Bucket": ("bucket", "[({})]", "s3"),
    "aws:cloudwatch/eventBus:EventBus": ("event bus", "{{{{{}}}}}", "bus"),
    "aws:cloudwatch/eventRule:EventRule": ("rule", "[[{}]]", "rule"),
    "aws:iot/topicRule:TopicRule": ("IoT rule", "[[{}]]", "iot"),
    "mqtt": ("MQTT topic", ">{}]", "mqtt"),
}


class Diagram:
    def __init__(self, record: RunRecord):
        self.resources = record.by_urn()
        self.edges: list[tuple[str, str, str, bool]] = []

    def node(self, urn: str) -> str:
        prefix = NODE_KINDS[self.resources[urn].type][2]
        return prefix + "_" + re.sub(r"[^A-Za-z0-9_]", "_", self.resources[urn].name)

    def mqtt(self, topic: str, near: str) -> str:
        """A pseudo-resource for an MQTT topic (or filter), placed in the system of `near`."""
        urn = f"mqtt:{topic}"
        if urn not in self.resources:
            parent = self.resources[near].parent
            self.resources[urn] = RecordedResource(urn=urn, type="mqtt", name=topic, parent=parent)
        return urn

    def deps(self, resource: RecordedResource, prop: str, *types: str) -> list[str]:
        found = resource.property_dependencies.get(prop) or []
        return [u for u in found if u in self.resources and (not types or self.resources[u].type in types)]

    def connect(self, sources: list[str], targets: list[str], label: str = "", failure: bool = False) -> None:
        for source in sources:
            for target in targets:
                if source != target and self.resources[source].type in NODE_KINDS \
                        and self.resources[target].type in NODE_KINDS \
                        and not any({s, t} == {source, target} for s, t, _, _ in self.edges):
                    self.edges.append((source, target, label, failure))

    def system_of(self, urn: str) -> str:
        """The system a resource belongs to: its top-level component's name, else 'shared'."""
        resource, top = self.resources[urn], None
        while resource.parent in self.resources:
            resource = self.resources[resource.parent]
            if re.fullmatch(r"conduit:[a-zA-Z]+:[A-Z][A-Za-z]+", resource.type) and \
                    not resource.type.startswith("conduit:blocks:"):
                top = resource.name
        return top or "shared"


def _calls(d: Diagram) -> None:
    """What functions call, from their role policies: a statement's resources that are nodes."""
    by_arn = {}
    for urn, r in d.resources.items():
        for key in ("arn", "streamArn"):
            value = r.outputs.get(key)
            if isinstance(value, str) and r.type in NODE_KINDS:
                by_arn[value] = urn
    filters = {}
    for urn, r in d.resources.items():
        if r.type == "aws:iot/topicRule:TopicRule":
            found = re.search(r"FROM\s+'([^']+)'", r.inputs.get("sql", ""), re.I)
            if found:
                filters[urn] = found.group(1)
    functions_by_role = defaultdict(list)
    for urn, r in d.resources.items():
        if r.type == "aws:lambda/function:Function":
            for role in d.deps(r, "role"):
                functions_by_role[role].append(urn)
    for r in list(d.resources.values()):
        if r.type != "aws:iam/rolePolicy:RolePolicy":
            continue
        functions = [f for role in d.deps(r, "role") for f in functions_by_role[role]]
        for statement in statements_of(r.inputs.get("policy")):
            actions = sorted({str(a).split(":", 1)[-1] for a in as_list(statement.get("Action"))})
            for resource in as_list(statement.get("Resource")):
                resource = str(resource)
                topic = resource.split(":topic/", 1)[1] if ":iot:" in resource and ":topic/" in resource else None
                for function in functions:
                    if topic is not None:
                        rules = [rule for rule, f in filters.items() if topic_matches(f, topic)]
                        targets = [d.mqtt(filters[rule], rule) for rule in rules] or [d.mqtt(topic, function)]
                    else:
                        target = by_arn.get(resource) or by_arn.get(resource.split("/stream/")[0].rstrip("/*"))
                        target = target or next((u for a, u in by_arn.items() if resource.startswith(a + "/")), None)
                        targets = [target] if target else []
                    d.connect([function], targets, " ".join(actions))
    for rule, topic_filter in filters.items():
        d.connect([d.mqtt(topic_filter, rule)], [rule])


ROUTES = "@routes of "  # an API edge's label until the integration's routes are known


def _wire(d: Diagram) -> None:
    routes: dict[str, list[str]] = defaultdict(list)
    for r in d.resources.values():
        match r.type:
            case "aws:lambda/eventSourceMapping:EventSourceMapping":
                functions = d.deps(r, "functionName")
                d.connect(d.deps(r, "eventSourceArn"), functions, "batches")
                d.connect(functions, d.deps(r, "destinationConfig"), "on failure", failure=True)
            case "aws:s3/bucketNotification:BucketNotification":
                for prop in ("lambdaFunctions", "queues", "topics"):
                    d.connect(d.deps(r, "bucket"), d.deps(r, prop), "object created")
            case "aws:iot/topicRule:TopicRule":
                rule = [r.urn]
                for prop in ("dynamodbv2s", "lambdas", "s3", "sns", "sqs", "republishes"):
                    d.connect(rule, d.deps(r, prop))
                d.connect(rule, d.deps(r, "errorAction"), "errors", failure=True)
            case "aws:cloudwatch/eventRule:EventRule":
                d.connect(d.deps(r, "eventBusName"), [r.urn])
            case "aws:cloudwatch/eventTarget:EventTarget":
                rules, targets = d.deps(r, "rule"), d.deps(r, "arn")
                d.connect(rules, targets)
                d.connect(rules, d.deps(r, "deadLetterConfig"), "undelivered", failure=True)
            case "aws:sns/topicSubscription:TopicSubscription":
                d.connect(d.deps(r, "topic"), d.deps(r, "endpoint"), r.inputs.get("protocol", ""))
                d.connect(d.deps(r, "topic"), d.deps(r, "redrivePolicy"), "undelivered", failure=True)
            case "aws:sqs/queue:Queue":
                d.connect([r.urn], d.deps(r, "redrivePolicy"), "dead letters", failure=True)
            case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig":
                d.connect(d.deps(r, "functionName"), d.deps(r, "destinationConfig"), "on failure", failure=True)
            case "aws:apigatewayv2/route:Route":
                for integration in d.deps(r, "target"):
                    routes[integration].append(r.inputs.get("routeKey", ""))
            case "aws:apigatewayv2/integration:Integration":
                for api in d.deps(r, "apiId"):
                    d.connect([api], d.deps(r, "integrationUri"), ROUTES + r.urn)
    d.edges = [(s, t, ", ".join(sorted(routes[label[len(ROUTES):]])) if label.startswith(ROUTES) else label, f)
               for s, t, label, f in d.edges]
    _calls(d)  # after the declared connections, which say more than a role's statement


def mermaid(record: RunRecord) -> str:
    """The flowchart, in a stable order so a test can hold it against the README."""
    d = Diagram(record)
    _wire(d)
    used = {u for s, t, _, _ in d.edges for u in (s, t)}
    used |= {u for u, r in d.resources.items() if r.type in NODE_KINDS}
    groups: dict[str, list[str]] = defaultdict(list)
    for urn in sorted(used, key=lambda u: d.node(u)):
        if d.resources[urn].type in NODE_KINDS:
            groups[d.system_of(urn)].append(urn)
    lines = ["flowchart LR"]
    for system in sorted(groups, key=lambda g: (g == "shared", g)):
        lines.append(f"  subgraph {re.sub(r'[^A-Za-z0-9_]', '_', system)}[{system}]")
        for urn in groups[system]:
            kind, shape, _ = NODE_KINDS[d.resources[urn].type]
            lines.append(f"    {d.node(urn)}" + shape.format(f'"{d.resources[urn].name}<br/><i>{kind}</i>"'))
        lines.append("  end")
    for source, target, label, failure in sorted(set(d.edges), key=lambda e: (d.node(e[0]), d.node(e[1]), e[2])):
        arrow = "-.->" if failure else "-->"
        text = f"|{label}|" if label else ""
        lines.append(f"  {d.node(source)} {arrow}{text} {d.node(target)}")
    return "\n".join(lines)
