"""A local AWS Lambda Runtime API (2018-06-01), enough to run the real function binary.

The function polls `GET /2018-06-01/runtime/invocation/next`; a driver invokes it with
`POST /control/invoke` (the body is the event) and gets back `{"status": "response"|"error",
"body": ...}` once the function answered. `GET /control/init-error` tells whether init failed.
"""

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:ecs-autopsy"


class RuntimeApi:
    def __init__(self, timeout_seconds=60):
        self.timeout = timeout_seconds
        self.pending = queue.Queue()
        self.results = {}
        self.done = {}
        self.init_error = None
        self.next_times = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _send(self, code, body=b"", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                if self.path == f"{PREFIX}/invocation/next":
                    api.next_times.append(time.monotonic())
                    request_id, payload = api.pending.get()
                    deadline = int((time.time() + api.timeout) * 1000)
                    self._send(
                        200,
                        payload,
                        {
                            "Content-Type": "application/json",
                            "Lambda-Runtime-Aws-Request-Id": request_id,
                            "Lambda-Runtime-Deadline-Ms": str(deadline),
                            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                        },
                    )
                elif self.path == "/control/init-error":
                    self._send(200, json.dumps({"init_error": api.init_error}).encode())
                else:
                    self._send(404)

            def do_POST(self):
                body = self._body()
                if self.path == "/control/invoke":
                    request_id = str(uuid.uuid4())
                    event = threading.Event()
                    with api.lock:
                        api.done[request_id] = event
                    api.pending.put((request_id, body))
                    if not event.wait(api.timeout + 30):
                        self._send(504, json.dumps({"status": "timeout"}).encode())
                        return
                    with api.lock:
                        result = api.results.pop(request_id)
                    self._send(200, json.dumps(result).encode(), {"Content-Type": "application/json"})
                elif self.path == f"{PREFIX}/init/error":
                    api.init_error = body.decode("utf-8", "replace")
                    self._send(202)
                elif self.path.startswith(f"{PREFIX}/invocation/"):
                    parts = self.path.split("/")
                    request_id, kind = parts[-2], parts[-1]
                    try:
                        decoded = json.loads(body) if body else None
                    except ValueError:
                        decoded = body.decode("utf-8", "replace")
                    with api.lock:
                        api.results[request_id] = {"status": kind, "body": decoded}
                        event = api.done.pop(request_id, None)
                    self._send(202)
                    if event:
                        event.set()
                else:
                    self._send(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
