"""A client that is not part of kicer: Python grpcio with server reflection.

It knows no .proto file. It asks the server for its descriptors (reflection
v1alpha, the only version grpcio-reflection speaks), builds the messages
from them, and checks that submit, classify, list, triage routing, lead
times, health and an error code work as documented, and that the server
admits only configured clients: an admin token (KICER_TOKEN) for most
calls, a portal token (KICER_PORTAL_TOKEN) that sees only its own
questions, and no token at all, which only the health service answers.

    KICER_TOKEN=kicer_… KICER_PORTAL_TOKEN=kicer_… python .ci/external_client.py 127.0.0.1:50051
"""

import collections
import os
import sys
import time

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


class _Details(collections.namedtuple(
        "_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
             grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Sends `authorization: Bearer <token>` on every call of a channel."""

    def __init__(self, token):
        self.token = token

    def _details(self, d):
        metadata = list(d.metadata or []) + [("authorization", f"Bearer {self.token}")]
        return _Details(d.method, d.timeout, metadata, d.credentials, d.wait_for_ready, d.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


class Api:
    """Calls any method of the server by name, with messages from reflection."""

    def __init__(self, channel):
        self.channel = channel
        self.db = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.db)

    def services(self):
        return set(self.db.get_services())

    def message(self, full_name, **fields):
        cls = message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))
        return json_format.ParseDict(fields, cls())

    def call(self, service, method, channel=None, **fields):
        """Calls a method on this API's channel, or on `channel` (another
        client's) with the same descriptors."""
        desc = self.pool.FindServiceByName(service).FindMethodByName(method)
        request = self.message(desc.input_type.full_name, **fields)
        response_cls = message_factory.GetMessageClass(desc.output_type)
        rpc = (channel or self.channel).unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        return json_format.MessageToDict(rpc(request, timeout=10), preserving_proto_field_name=True)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def refused(call, code, what):
    try:
        call()
        check(False, what)
    except grpc.RpcError as e:
        check(e.code() == code, f"{what} ({e.code()}: {e.details()})")


def main(address):
    plain = grpc.insecure_channel(address)
    grpc.channel_ready_future(plain).result(timeout=15)
    channel = grpc.intercept_channel(plain, Bearer(os.environ["KICER_TOKEN"]))
    portal = grpc.intercept_channel(plain, Bearer(os.environ["KICER_PORTAL_TOKEN"]))
    api = Api(channel)

    services = api.services()
    for name in ["kicer.v1.QuestionService", "kicer.v1.TriageService",
                 "kicer.v1.DirectoryService", "kicer.v1.InsightsService",
                 "grpc.health.v1.Health"]:
        check(name in services, f"reflection lists {name}")

    health = health_pb2_grpc.HealthStub(plain).Check(
        health_pb2.HealthCheckRequest(service="kicer.v1.QuestionService"), timeout=10)
    check(health.status == health_pb2.HealthCheckResponse.SERVING, "health says SERVING, without a token")
    refused(lambda: api.call("kicer.v1.QuestionService", "ClassifyQuestion", channel=plain, text="circulair inkopen"),
            grpc.StatusCode.UNAUTHENTICATED, "a call without a token is UNAUTHENTICATED")
    wrong = grpc.intercept_channel(plain, Bearer("kicer_" + "0" * 64))
    refused(lambda: api.call("kicer.v1.QuestionService", "ClassifyQuestion", channel=wrong, text="circulair inkopen"),
            grpc.StatusCode.UNAUTHENTICATED, "a call with an unknown token is UNAUTHENTICATED")

    q = "kicer.v1.QuestionService"
    routed = api.call(q, "SubmitQuestion",
                      text="Hoe halen we onze circulaire-inkoopdoelstellingen? Welke criteria gebruiken we bij aanbestedingen?",
                      organization_name="Gemeente Zwolle", organization_type="ORGANIZATION_TYPE_GEMEENTE",
                      region="Overijssel", portal="external-client", request_id="ci-external-1")
    check(routed["status"] == "STATUS_ROUTED", f"a clear question is routed ({routed['status']})")
    check(routed["classification"]["category"] == "CATEGORY_EXECUTION", "it is classified EXECUTION")
    check(routed.get("provider_id") == "pianoo", f"and assigned to pianoo ({routed.get('provider_id')})")
    again = api.call(q, "SubmitQuestion",
                     text="Hoe halen we onze circulaire-inkoopdoelstellingen? Welke criteria gebruiken we bij aanbestedingen?",
                     organization_name="Gemeente Zwolle", organization_type="ORGANIZATION_TYPE_GEMEENTE",
                     portal="external-client", request_id="ci-external-1")
    check(again["id"] == routed["id"], "a repeated request_id returns the same question")

    own = api.call(q, "SubmitQuestion", channel=portal,
                   text="Hoe zetten we een kringloopwinkel op met de gemeente?",
                   organization_name="Gemeente Deventer", organization_type="ORGANIZATION_TYPE_GEMEENTE")
    check(own["portal"] == "ci-portal", f"a portal's question carries the portal's client name ({own['portal']})")
    check(api.call(q, "GetQuestion", channel=portal, id=own["id"])["id"] == own["id"], "the portal reads its own question")
    refused(lambda: api.call(q, "GetQuestion", channel=portal, id=routed["id"]),
            grpc.StatusCode.NOT_FOUND, "another portal's question is NOT_FOUND to a portal")
    refused(lambda: api.call("kicer.v1.DirectoryService", "DeleteExpert", channel=portal, id="anna"),
            grpc.StatusCode.PERMISSION_DENIED, "a portal may not manage experts")
    history = api.call(q, "GetQuestionHistory", id=routed["id"])
    check(history["events"][0]["actor"] == "ci-admin", "the history names the client that submitted")

    c = api.call(q, "ClassifyQuestion",
                 text="Welke subsidies zijn er voor circulaire bouwprojecten van de provincie?",
                 organization_type="ORGANIZATION_TYPE_PROVINCIE")
    check(c.get("category") in {"CATEGORY_EXECUTION", "CATEGORY_SPECIFIC", "CATEGORY_STRATEGY", "CATEGORY_COLLABORATION"},
          f"ClassifyQuestion answers a category ({c.get('category')})")
    check(len(c.get("providers", [])) > 0 and c["providers"][0].get("matched_terms"),
          "with ranked providers and the terms that counted")

    # One call at a time, over a real socket, against the release server:
    # a response written in pieces must not wait for the client's delayed
    # ACK (Nagle, ~40 ms a call without TCP_NODELAY). Health/Check in the
    # same run is the transport's own floor.
    def median_ms(call, n=50):
        took = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            took.append((time.perf_counter() - start) * 1000)
        return sorted(took)[n // 2]
    stub = health_pb2_grpc.HealthStub(plain)
    health_ms = median_ms(lambda: stub.Check(health_pb2.HealthCheckRequest(), timeout=10))
    classify_ms = median_ms(lambda: api.call(
        q, "ClassifyQuestion",
        text="Hoe halen we onze circulaire-inkoopdoelstellingen? Welke criteria gebruiken we bij aanbestedingen?",
        organization_type="ORGANIZATION_TYPE_GEMEENTE"))
    check(classify_ms < 5.0,
          f"one ClassifyQuestion call alone answers in under 5 ms (median {classify_ms:.2f} ms; Health/Check {health_ms:.2f} ms)")

    vague = api.call(q, "SubmitQuestion", text="Wat is het eigenlijk?", organization_name="Waterschap Vallei",
                     organization_type="ORGANIZATION_TYPE_WATERSCHAP")
    check(vague["status"] == "STATUS_TRIAGE", "a vague question waits in triage")
    listed = api.call(q, "ListQuestions", status="STATUS_TRIAGE")
    check(vague["id"] in [x["id"] for x in listed.get("questions", [])], "ListQuestions finds it by status")
    queue = api.call("kicer.v1.TriageService", "ListQueue")
    entry = next((e for e in queue["entries"] if e["question"]["id"] == vague["id"]), None)
    check(entry is not None and entry["reason"], "the queue shows it with a reason")
    after = api.call("kicer.v1.TriageService", "RouteQuestion", id=vague["id"], provider_id="uvw",
                     etag=vague["etag"], reason="water board question")
    check(after["status"] == "STATUS_ROUTED" and after["provider_id"] == "uvw", "the core team routes it")

    similar = api.call(q, "FindSimilarQuestions",
                       text="Welke criteria gebruiken we bij aanbestedingen om circulaire-inkoopdoelstellingen te halen?",
                       page_size=3)
    check(similar.get("similar", [{}])[0].get("id") == routed["id"],
          "FindSimilarQuestions finds the earlier question in other words")

    lead = api.call("kicer.v1.InsightsService", "GetLeadTimes", metric="LEAD_TIME_METRIC_TIME_TO_ROUTE",
                    group_by="LEAD_TIME_GROUPING_ALL")
    total = sum(int(g.get("count", 0)) for g in lead.get("groups", []))
    check(total >= 2, f"GetLeadTimes counts both routed questions ({total})")

    try:
        api.call(q, "SubmitQuestion", text="   ", organization_name="X", organization_type="ORGANIZATION_TYPE_GEMEENTE")
        check(False, "an empty question is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "text" in e.details(),
              f"an empty question is INVALID_ARGUMENT ({e.code()}: {e.details()})")
    try:
        api.call("kicer.v1.QuestionService", "AcceptQuestion", id=vague["id"], etag=vague["etag"])
        check(False, "a stale etag is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.ABORTED, f"a stale etag is ABORTED ({e.code()})")
    print("external client: all checks passed")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
