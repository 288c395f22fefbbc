"""IoT device policies: a device may connect as itself and use only its own topics."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from conduit_policies.documents import Props, only, parse_document

# The resource kind each data-plane action must name, with no wildcard in it.
RESOURCE_KIND = {"iot:connect": "client", "iot:publish": "topic", "iot:receive": "topic",
                 "iot:subscribe": "topicfilter", "iot:retainpublish": "topic"}


@only("aws:iot/policy:Policy")
def _device_policy(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for statement in parse_document(Props(args.props).get("policy")):
        if statement.effect != "Allow":
            continue
        where = f"IoT policy '{args.name}', {statement.label()}"
        for action in statement.actions:
            if action in {"*", "iot:*"} or action.endswith("*"):
                report_violation(f"{where} allows {action!r}: a stolen device certificate could then do anything; "
                                 "allow iot:Connect, iot:Subscribe, iot:Receive and iot:Publish only")
                continue
            kind = RESOURCE_KIND.get(action.lower())
            if kind is None:
                continue
            for resource in statement.resources:
                named = resource.split(":", 5)[-1] if resource.startswith("arn:") else resource
                if "*" in resource or "?" in resource or not named.startswith(f"{kind}/"):
                    report_violation(f"{where} allows {action} on {resource!r}; name exactly the {kind} it may use, "
                                     f"e.g. arn:aws:iot:<region>:<account>:{kind}/<name> (policy variables such as "
                                     "${iot:Connection.Thing.ThingName} are fine)")


POLICIES = [
    ResourceValidationPolicy(
        name="iot-device-least-privilege",
        description="Device policies: no iot:* or *; connect, publish, subscribe and receive name their resources.",
        validate=_device_policy),
]
