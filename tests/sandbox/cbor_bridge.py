"""Smithy RPC v2 CBOR in front of moto, which speaks the same operations only as AWS JSON 1.0.

The Rust CloudWatch client (aws-sdk-cloudwatch >= 1.100) sends
`POST /service/GraniteServiceVersion20100801/operation/GetMetricData` with a CBOR body and the
header `smithy-protocol: rpc-v2-cbor`; moto routes only `POST /` with
`X-Amz-Target: GraniteServiceVersion20100801.GetMetricData` and a JSON body. This bridge turns
one into the other and the JSON answer back into CBOR, using botocore's model of the service so
that timestamps travel as CBOR epoch tags (tag 1) and blobs as byte strings, as the protocol says.
Requests that are not RPC v2 CBOR pass through untouched.

https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
"""

import base64
import io
import json
import re
from datetime import datetime, timezone

import cbor2

PATH = re.compile(r"^/service/(?P<service>[A-Za-z0-9_.]+)/operation/(?P<operation>[A-Za-z0-9_]+)$")
JSON_1_0 = "application/x-amz-json-1.0"

# Services the Rust SDK reaches over RPC v2 CBOR, by JSON target prefix → botocore name.
SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}

_models = {}


def _service_model(target_prefix):
    """botocore's model of the service (cached); None for a prefix not listed above."""
    name = SERVICES.get(target_prefix)
    if name and name not in _models:
        import botocore.session

        _models[name] = botocore.session.get_session().get_service_model(name)
    return _models.get(name)


def to_json(value):
    """CBOR-decoded request → JSON 1.0 values: timestamps as epoch seconds, blobs as base64."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def to_cbor_values(value, shape):
    """JSON 1.0 response values → CBOR values, guided by the output shape."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: to_cbor_values(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [to_cbor_values(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_cbor_values(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind in ("double", "float") and isinstance(value, int):
        return float(value)
    return value


def install():
    """Wraps moto's WSGI dispatcher once; idempotent."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from werkzeug.wsgi import get_input_stream

    original = DomainDispatcherApplication.__call__
    if getattr(original, "_cbor_bridge", False):
        return

    def bridged(app, environ, start_response):
        match = PATH.match(environ.get("PATH_INFO", ""))
        if not match or environ.get("HTTP_SMITHY_PROTOCOL", "").lower() != "rpc-v2-cbor":
            return original(app, environ, start_response)
        prefix, operation = match.group("service"), match.group("operation")
        model = _service_model(prefix)
        raw = get_input_stream(environ).read()
        body = json.dumps(to_json(cbor2.loads(raw)) if raw else {}).encode()
        environ = dict(environ)
        environ.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": JSON_1_0,
                "HTTP_X_AMZ_TARGET": f"{prefix}.{operation}",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
                "wsgi.input_terminated": False,
            }
        )
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("HTTP_SMITHY_PROTOCOL", None)

        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda _data: None

        chunks = original(app, environ, capture)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        text = data.decode() if data.strip() else "{}"
        payload = json.loads(text)
        code = int(answer["status"].split()[0])
        if code < 300 and model is not None:
            shape = model.operation_model(operation).output_shape
            payload = to_cbor_values(payload, shape)
        out = cbor2.dumps(payload, datetime_as_timestamp=True, timezone=timezone.utc)
        headers = [(k, v) for k, v in answer["headers"] if k.lower() not in ("content-type", "content-length")]
        headers += [
            ("Content-Type", "application/cbor"),
            ("Content-Length", str(len(out))),
            ("smithy-protocol", "rpc-v2-cbor"),
        ]
        start_response(answer["status"], headers)
        return [out]

    bridged._cbor_bridge = True
    DomainDispatcherApplication.__call__ = bridged
