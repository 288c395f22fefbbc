"""Traffic helpers every scenario shares: signed API calls, waiting for an effect, watching a topic."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from conduit.local.emulator import Emulator


class FlowTimeout(AssertionError):
    """What a flow waited for did not happen in time; `idle` when the local cloud had stopped working
    (nothing more will come), else it was still at work when the wait's limit came."""

    def __init__(self, message: str, idle: bool = False):
        super().__init__(message)
        self.idle = idle


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.05,
               busy: Callable[[], Any] | None = None, limit: float | None = None) -> Any:
    """`condition()`'s first true value. Gives up after `timeout` s; with `busy`, only after `timeout` s
    in which `busy()` did not change (the system still working, however slowly, is waited for), and
    never later than `limit` s."""
    started = time.monotonic()
    deadline, seen = started + timeout, busy() if busy else None
    while True:
        value = condition()
        if value:
            return value
        now = time.monotonic()
        if busy is not None and (activity := busy()) != seen:
            seen, deadline = activity, now + timeout
        if now > deadline:
            quiet = f" ({timeout:.0f} s without any activity in the local cloud)" if busy else ""
            raise FlowTimeout(f"timed out after {now - started:.0f} s{quiet} waiting for {what}", idle=busy is not None)
        if limit is not None and now - started > limit:
            raise FlowTimeout(f"still waiting for {what} after {limit:.0f} s, the local cloud still at work")
        time.sleep(interval)


@dataclass
class HttpResult:
    status: int
    body: Any


def canonical_url(url: str) -> str:
    """The URL with its query encoded as SigV4 signs it (RFC 3986 unreserved characters kept), so the
    signature covers exactly what is sent; a client that signs `time=a:b` unencoded is refused by AWS."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    encoded = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                       for k, v in query)
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


def stored_items(emulator: Emulator, table: str) -> int:
    """How many items a table holds, every page counted."""
    dynamodb, total, start = emulator.client("dynamodb"), 0, None
    while True:
        page = dynamodb.scan(TableName=table, Select="COUNT", **({"ExclusiveStartKey": start} if start else {}))
        total, start = total + page["Count"], page.get("LastEvaluatedKey")
        if not start:
            return total


def queue_depth(emulator: Emulator, url: str) -> int:
    """Messages in a queue, visible or in flight."""
    attributes = emulator.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def call_api(emulator: Emulator, url: str, method: str = "GET", body: Any = None, signed: bool = True,
             timeout: float = 30.0) -> HttpResult:
    """An HTTP API call, SigV4-signed as the account's root unless `signed` is False. `timeout`: how
    long to wait for the answer (a soak waits as long as its patience: on a busy machine the local
    cloud's cold starts share two cores, which AWS's execution environments never do)."""
    url = canonical_url(url)
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {"content-type": "application/json"} if data is not None else {}
    if signed:
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(emulator.session().get_credentials(), "execute-api", emulator.region).add_auth(request)
        headers = dict(request.headers)
    context = ssl.create_default_context(cafile=emulator.tls_cert)
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return HttpResult(status, json.loads(raw) if raw else None)
    except json.JSONDecodeError:
        return HttpResult(status, raw.decode(errors="replace"))


def csv_file(rows: int, first_timestamp: float = 1559040909.0, location: str = "demo") -> bytes:
    """A valid CSV file with `rows` distinct readings."""
    lines = ["timestamp,location,source,local_dest,local_avg,remote_dest,remote_avg"]
    lines += [f"{first_timestamp + n * 0.001:.6f},{location}-{n % 7},wireless,router-1,{n % 50 / 10:.2f},"
              f"device-{n % 3},{n % 90 / 10:.2f}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def observe_topic(emulator: Emulator, topic_arn: str, name: str) -> str:
    """An SQS queue subscribed (raw delivery) to an SNS topic, to see what the topic sent."""
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
    emulator.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                     Attributes={"RawMessageDelivery": "true"})
    return url


def received(emulator: Emulator, queue_url: str) -> list[dict[str, Any]]:
    messages = emulator.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                      WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]
