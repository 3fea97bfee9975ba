#!/usr/bin/env python3
"""`make bench`: what the function costs, measured on the real binary against the local emulator.

Prints one table: cold init, per-incident wall / CPU / instructions / AWS calls (cold and warm),
the critical-path floor and the warm ratio to it, the CPU of a TLS handshake, peak RSS, the
engine's criterion figures, a storm of 1,000 stops across 20 services, and the artifact size. BENCHMARKS.md explains the method.
"""

import argparse
import http.client
import io
import json
import os
import pathlib
import re
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from werkzeug.wsgi import get_input_stream

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import sandbox  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Calls:
    """Counts the emulator's requests, keeps their server-side intervals and the requests themselves
    (to replay them directly for the critical-path floor)."""

    def __init__(self):
        self.lock = threading.Lock()
        # Seconds every call is held at the emulator before it is answered: a region's round
        # trip, for the latency mode.
        self.delay = 0.0
        self.intervals = []
        self.services = []
        self.requests = []

    def install(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        calls = self
        original = DomainDispatcherApplication.__call__

        def wrapped(app, environ, start_response):
            t0 = time.monotonic()
            # The SigV4 credential scope names the service: one endpoint (one TLS handshake
            # in AWS) per distinct service.
            auth = environ.get("HTTP_AUTHORIZATION", "")
            m = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", auth)
            service = m.group(1) if m else "?"
            # Buffer the body so the request can be replayed byte for byte.
            body = get_input_stream(environ).read()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
            headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_") and k not in ("HTTP_HOST", "HTTP_CONTENT_LENGTH")}
            if environ.get("CONTENT_TYPE"):
                headers["Content-Type"] = environ["CONTENT_TYPE"]
            query = environ.get("QUERY_STRING", "")
            target = environ.get("PATH_INFO", "/") + ("?" + query if query else "")
            request = (environ["REQUEST_METHOD"], target, body, headers)
            if calls.delay:
                time.sleep(calls.delay)
            try:
                return original(app, environ, start_response)
            finally:
                with calls.lock:
                    calls.intervals.append((t0, time.monotonic()))
                    calls.services.append(service)
                    calls.requests.append(request)

        DomainDispatcherApplication.__call__ = wrapped

    def mark(self):
        with self.lock:
            return len(self.intervals)

    def since(self, mark):
        with self.lock:
            return self.intervals[mark:]

    def requests_since(self, mark):
        with self.lock:
            return list(zip(self.intervals[mark:], self.requests[mark:]))

    def services_since(self, mark):
        with self.lock:
            return sorted(set(self.services[mark:]))

    def connections_since(self, mark):
        """Connections a client with keep-alive needs: per endpoint, the most calls in flight at
        once. (The emulator closes every connection; AWS keeps them open.)"""
        with self.lock:
            by_service = {}
            for service, interval in zip(self.services[mark:], self.intervals[mark:]):
                by_service.setdefault(service, []).append(interval)
        return sum(max_overlap(v) for v in by_service.values())


class TlsEndpoint:
    """The same emulator (the same in-process state) behind TLS, to measure what handshakes cost
    the function. A throwaway CA signs an RSA-2048 leaf, as Amazon's RSA intermediates do; the
    function trusts it through SSL_CERT_FILE. Session tickets are off so every connection is a
    full handshake, as the first one to each AWS endpoint is; connections are counted."""

    def __init__(self, work_dir):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        self.ca_file, cert_file, key_file = self._certificates(pathlib.Path(work_dir))
        self.lock = threading.Lock()
        self.connections = 0
        endpoint = self

        class Handler(WSGIRequestHandler):
            def setup(self):
                super().setup()
                with endpoint.lock:
                    endpoint.connections += 1

            def log_request(self, *args, **kwargs):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.num_tickets = 0
        port = sandbox.free_port()
        app = DomainDispatcherApplication(create_backend_app)
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Handler, ssl_context=context)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"https://127.0.0.1:{port}"

    @staticmethod
    def _certificates(work_dir):
        import datetime as dt
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        work_dir.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)

        def name(cn):
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = (
            x509.CertificateBuilder()
            .subject_name(name("bench root"))
            .issuer_name(name("bench root"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(name("127.0.0.1"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        ca_file, cert_file, key_file = work_dir / "ca.pem", work_dir / "leaf.pem", work_dir / "leaf.key"
        ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        return str(ca_file), str(cert_file), str(key_file)

    def stop(self):
        self.server.shutdown()


def max_overlap(intervals):
    """The most intervals that overlap at one instant."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def busy_time(intervals):
    """Length of the union of intervals: time at least one AWS call was in flight."""
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def cpu_seconds(pid):
    """User + system CPU of a whole process, in ns resolution from its CPU-time clock
    (clock_getcpuclockid); /proc/<pid>/stat's clock ticks (10 ms) are the fallback."""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9
    except OSError:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rounds(recorded):
    """Groups calls into dependency rounds: calls whose server-side intervals overlapped were in
    flight together, so none waited for another; a call that started after all earlier ones ended
    begins a new round."""
    out, end = [], None
    for (a, b), request in sorted(recorded, key=lambda r: r[0]):
        if end is None or a > end:
            out.append([])
            end = b
        out[-1].append(request)
        end = max(end, b)
    return out


def replay(endpoint, recorded):
    """Issues the same requests directly, round after round, each round's calls at once on
    already-open keep-alive connections; returns the wall time of the chain."""
    host = urllib.parse.urlsplit(endpoint).netloc
    total = 0.0
    for calls in rounds(recorded):
        conns = [http.client.HTTPConnection(host, timeout=60) for _ in calls]
        for c in conns:
            c.connect()
        barrier = threading.Barrier(len(calls) + 1)

        def send(conn, request):
            method, target, body, headers = request
            barrier.wait()
            conn.request(method, target, body=body, headers=headers)
            conn.getresponse().read()

        threads = [threading.Thread(target=send, args=(c, r)) for c, r in zip(conns, calls)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.monotonic()
        for t in threads:
            t.join()
        total += time.monotonic() - t0
        for c in conns:
            c.close()
    return total


def peak_rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def end(proc, runtime):
    """Kills a function process and stops its Runtime API."""
    proc.kill()
    proc.wait()
    runtime.stop()


def software_sha256(out):
    """Instructions spent in SHA-256 block compression (SigV4 hashing) in a callgrind profile.
    Valgrind hides the CPU's SHA extensions, so under it the sha2 crate takes its software path:
    this is the part of the count that Graviton's and current x86's SHA instructions do in a
    small fraction of the instructions."""
    try:
        text = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    counts = [
        int(m.group(1).replace(",", ""))
        for m in re.finditer(r"^\s*([\d,]+) \([^)]*\)\s+\S*:sha2::sha256::compress256 \[", text, re.M)
    ]
    return max(counts) if counts else None


def invoke(runtime, payload):
    req = urllib.request.Request(f"http://{runtime.address}/control/invoke", data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.loads(resp.read())


class Bench:
    def __init__(self, function):
        self.function = function
        self.calls = Calls()
        self.calls.install()
        self.server, self.endpoint = sandbox.start_server()
        seeder = sandbox.Seeder(self.endpoint)
        self.events_dir = pathlib.Path("target/bench/events")
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.seed_event = json.loads(pathlib.Path(seeder.seed("seed", sandbox.SCENARIOS["seed"], self.events_dir)).read_text())
        self.deployment_path = seeder.seed("deployment", sandbox.SCENARIOS["deployment"], self.events_dir)
        # A CPU-starved service with no service auto scaling: its policies and activities are not read.
        self.no_scaling_path = seeder.seed("no-scaling", sandbox.SCENARIOS["no-scaling"], self.events_dir)
        import boto3

        kw = dict(endpoint_url=self.endpoint, region_name=sandbox.REGION, aws_access_key_id="b", aws_secret_access_key="b")
        self.s3 = boto3.client("s3", **kw)
        self.bucket = "ecs-autopsy-bench"
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": sandbox.REGION})
        self.topic = boto3.client("sns", **kw).create_topic(Name="bench")["TopicArn"]
        self.published = 0
        from moto.sns.models import SNSBackend

        original = SNSBackend.publish
        bench = self

        def publish(backend, *a, **k):
            bench.published += 1
            return original(backend, *a, **k)

        SNSBackend.publish = publish

    def env(self, runtime):
        return dict(
            os.environ,
            AWS_LAMBDA_RUNTIME_API=runtime.address,
            AWS_LAMBDA_FUNCTION_NAME="ecs-autopsy",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_LOG_STREAM_NAME="bench",
            AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/ecs-autopsy",
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION=sandbox.REGION,
            AWS_ACCESS_KEY_ID="b",
            AWS_SECRET_ACCESS_KEY="b",
            INCIDENT_TOPIC_ARN=self.topic,
            INCIDENT_BUCKET=self.bucket,
            RUST_LOG="error",
        )

    def clear_archive(self):
        """Each measured invocation is a new incident: no record, no storm state."""
        for obj in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", []):
            self.s3.delete_object(Bucket=self.bucket, Key=obj["Key"])

    def spawn(self, runtime, prefix=(), extra_env=None, function=None):
        t0 = time.monotonic()
        env = dict(self.env(runtime), **(extra_env or {}))
        proc = subprocess.Popen(list(prefix) + [function or self.function], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not runtime.next_times:
            if proc.poll() is not None:
                raise RuntimeError("the function exited during init")
            time.sleep(0.0005)
        return proc, runtime.next_times[0] - t0

    def cold_init(self, runs=15):
        """Median spawn → first /next, and the CPU the process had used by then."""
        times, cpus = [], []
        for _ in range(runs):
            runtime = RuntimeApi()
            proc, t = self.spawn(runtime)
            times.append(t)
            cpus.append(cpu_seconds(proc.pid))
            end(proc, runtime)
        return statistics.median(times), statistics.median(cpus)

    def incidents(self, warm=20):
        runtime = RuntimeApi()
        proc, _ = self.spawn(runtime)
        rows = []
        for _ in range(warm + 1):
            self.clear_archive()
            mark = self.calls.mark()
            cpu0 = cpu_seconds(proc.pid)
            t0 = time.monotonic()
            result = invoke(runtime, self.seed_event)
            wall = time.monotonic() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
            assert result["status"] == "response", result
            recorded = self.calls.requests_since(mark)
            intervals = [r[0] for r in recorded]
            # The same calls again, issued directly: the archive is reset so they meet the
            # state the function met.
            self.clear_archive()
            direct = replay(self.endpoint, recorded)
            rows.append(
                {
                    "wall": wall,
                    "cpu": cpu,
                    "calls": len(intervals),
                    "rounds": len(rounds(recorded)),
                    "busy": busy_time(intervals),
                    "floor": direct,
                    "endpoints": self.calls.services_since(mark),
                    "connections": self.calls.connections_since(mark),
                }
            )
        rss = peak_rss_kib(proc.pid)
        end(proc, runtime)
        return rows[0], rows[1:], rss

    def latency(self, delay_ms, warm=10):
        """Every AWS call held `delay_ms` at the emulator: wall time cold and warm, and the dependent
        rounds of a notified and of a quiet benign incident. The floor is rounds × latency: what
        the chain of round trips alone costs in a region."""
        self.calls.delay = delay_ms / 1000
        try:
            runtime = RuntimeApi()
            proc, _ = self.spawn(runtime)
            rows = []
            for _ in range(warm + 1):
                self.clear_archive()
                mark = self.calls.mark()
                t0 = time.monotonic()
                result = invoke(runtime, self.seed_event)
                wall = time.monotonic() - t0
                assert result["status"] == "response", result
                recorded = self.calls.requests_since(mark)
                rows.append({"wall": wall, "calls": len(recorded), "rounds": len(rounds(recorded))})
            self.clear_archive()
            mark = self.calls.mark()
            t0 = time.monotonic()
            invoke(runtime, json.loads(pathlib.Path(self.deployment_path).read_text()))
            benign_wall = time.monotonic() - t0
            benign_rounds = len(rounds(self.calls.requests_since(mark)))
            end(proc, runtime)
        finally:
            self.calls.delay = 0.0
        cold, warm_rows = rows[0], rows[1:]
        return {
            "delay_ms": delay_ms,
            "cold_wall": cold["wall"],
            "warm_wall": statistics.median(r["wall"] for r in warm_rows),
            "rounds": statistics.median(r["rounds"] for r in warm_rows),
            "calls": statistics.median(r["calls"] for r in warm_rows),
            "benign_wall": benign_wall,
            "benign_rounds": benign_rounds,
        }

    def one(self, event_path, delay_ms=20.0):
        """One incident from a fresh process: its AWS calls, endpoints, dependent rounds and the
        operations it asked Application Auto Scaling for. Every call is held `delay_ms`, as in
        the latency mode, so calls in flight together overlap and the rounds are counted right."""
        runtime = RuntimeApi()
        proc, _ = self.spawn(runtime)
        payload = json.loads(pathlib.Path(event_path).read_text())
        self.clear_archive()
        mark = self.calls.mark()
        self.calls.delay = delay_ms / 1000
        try:
            result = invoke(runtime, payload)
        finally:
            self.calls.delay = 0.0
        assert result["status"] == "response", result
        recorded = self.calls.requests_since(mark)
        scaling_ops = sorted(
            h.get("X-Amz-Target", "").split(".")[-1] for _, (_, _, _, h) in recorded if h.get("X-Amz-Target", "").startswith("AnyScaleFrontendService.")
        )
        out = {
            "calls": len(recorded),
            "endpoints": self.calls.services_since(mark),
            "rounds": len(rounds(recorded)),
            "scaling_ops": scaling_ops,
        }
        end(proc, runtime)
        return out

    def tls_cost(self, runs=7):
        """CPU of spawn + init + one cold incident over plain HTTP and over TLS (alternating, median
        of each), and the full handshakes the TLS runs made: the CPU one handshake costs."""
        tls = TlsEndpoint("target/bench/tls")
        plain_cpu, tls_cpu, handshakes = [], [], []
        try:
            for _ in range(runs):
                for extra in (None, {"AWS_ENDPOINT_URL": tls.endpoint, "SSL_CERT_FILE": tls.ca_file}):
                    self.clear_archive()
                    runtime = RuntimeApi()
                    before = tls.connections
                    proc, _ = self.spawn(runtime, extra_env=extra)
                    result = invoke(runtime, self.seed_event)
                    assert result["status"] == "response", result
                    cpu = cpu_seconds(proc.pid)
                    end(proc, runtime)
                    if extra:
                        tls_cpu.append(cpu)
                        handshakes.append(tls.connections - before)
                    else:
                        plain_cpu.append(cpu)
        finally:
            tls.stop()
        plain, secure, n = statistics.median(plain_cpu), statistics.median(tls_cpu), statistics.median(handshakes)
        return {"runs": runs, "plain_cpu": plain, "tls_cpu": secure, "handshakes": n, "per_handshake": (secure - plain) / n if n else None}

    def instructions(self, warm=5, function=None):
        """Instructions from callgrind: (init + one cold incident), then per warm incident, and the
        warm incident's software SHA-256. `function` is a build of the same code with symbols (the
        `profiling` profile), so the profile names functions; the release binary is stripped."""

        def run(n):
            out = pathlib.Path(f"target/bench/callgrind.{n}.out")
            runtime = RuntimeApi(timeout_seconds=300)
            proc, _ = self.spawn(
                runtime, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--quiet"], function=function
            )
            for _ in range(n):
                self.clear_archive()
                invoke(runtime, self.seed_event)
            proc.terminate()
            proc.wait()
            runtime.stop()
            for line in out.read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1]), software_sha256(out)
            return None, None

        try:
            one, sha_one = run(1)
            many, sha_many = run(1 + warm)
        except (OSError, RuntimeError):
            return None, None, None
        if one is None or many is None:
            return None, None, None
        sha_warm = (sha_many - sha_one) / warm if None not in (sha_one, sha_many) else None
        return one, (many - one) / warm, sha_warm

    def storm(self, total=1000, services=20):
        """1,000 stops across 20 services, two causes each, inside one storm window."""
        self.clear_archive()
        runtime = RuntimeApi(timeout_seconds=300)
        proc, _ = self.spawn(runtime)
        base = json.loads((sandbox.ROOT / "events" / "oom_killed_reason_fargate_leak.json").read_text())
        crash = json.loads((sandbox.ROOT / "events" / "app_crashed_exit_127_entrypoint_not_found.json").read_text())
        published0 = self.published
        mark = self.calls.mark()
        t0 = time.monotonic()
        for i in range(total):
            # Every service sees both causes: at most 2 × 20 notifications.
            ev = json.loads(json.dumps(base if (i // services) % 2 == 0 else crash))
            svc = f"svc-{i % services:02d}"
            arn = f"arn:aws:ecs:eu-west-1:123456789012:task/storm/{i:032x}"
            ev["detail"]["taskArn"] = arn
            ev["detail"]["clusterArn"] = "arn:aws:ecs:eu-west-1:123456789012:cluster/storm"
            ev["detail"]["group"] = f"service:{svc}"
            ev["resources"] = [arn]
            result = invoke(runtime, ev)
            assert result["status"] == "response", result
        elapsed = time.monotonic() - t0
        calls = len(self.calls.since(mark))
        records = sum(
            1
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="incidents/cluster=storm/")
            for o in page.get("Contents", [])
            if o["Key"].endswith(".json")
        )
        end(proc, runtime)
        return {"calls": calls, "notifications": self.published - published0, "records": records, "seconds": elapsed}


def criterion(bencher_file):
    out = {}
    if not bencher_file or not pathlib.Path(bencher_file).exists():
        return out
    for line in pathlib.Path(bencher_file).read_text().splitlines():
        m = re.match(r"test (\S+)\s+\.\.\. bench:\s+([\d,]+) ns/iter", line)
        if m:
            out[m.group(1)] = int(m.group(2).replace(",", ""))
    return out


def fmt_ms(s):
    return f"{s * 1000:.1f} ms"


def latency_rows(lat):
    d = lat["delay_ms"] / 1000
    return [
        (
            f"latency mode ({lat['delay_ms']:g} ms a call): notified, cold / warm",
            f"{fmt_ms(lat['cold_wall'])} / {fmt_ms(lat['warm_wall'])}",
            f"{lat['rounds']:.0f} dependent rounds (target ≤ 6), {lat['calls']:.0f} calls; floor {lat['rounds']:.0f} × {lat['delay_ms']:g} ms = {fmt_ms(lat['rounds'] * d)}",
        ),
        (
            f"latency mode ({lat['delay_ms']:g} ms a call): benign, not notified",
            fmt_ms(lat["benign_wall"]),
            f"{lat['benign_rounds']} dependent rounds (target ≤ 3); floor {fmt_ms(lat['benign_rounds'] * d)}",
        ),
    ]


def print_rows(rows):
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure'.ljust(width)}  {'value':>22}  notes")
    print(f"{'-' * width}  {'-' * 22}  {'-' * 40}")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>22}  {note}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--function", required=True)
    ap.add_argument("--profiled", help="the same code built with symbols (cargo build --profile profiling), for callgrind")
    ap.add_argument("--criterion")
    ap.add_argument("--artifact")
    ap.add_argument("--binary-arm64")
    ap.add_argument("--json", default="target/bench/results.json")
    ap.add_argument("--latency-ms", type=float, default=20.0, help="per-call delay of the latency mode")
    ap.add_argument("--only-latency", action="store_true", help="run the latency mode alone")
    args = ap.parse_args()
    pathlib.Path("target/bench").mkdir(parents=True, exist_ok=True)

    b = Bench(args.function)
    print(f"==> latency mode: every AWS call delayed {args.latency_ms:g} ms", flush=True)
    lat = b.latency(args.latency_ms)
    lat_rows = latency_rows(lat)
    if args.only_latency:
        b.server.stop()
        print_rows(lat_rows)
        return
    print("==> cold init", flush=True)
    init, init_cpu = b.cold_init()
    print("==> incidents (1 cold + 20 warm)", flush=True)
    cold, warm, rss = b.incidents()
    print("==> a benign stop (deployment, not notified)", flush=True)
    benign = b.one(b.deployment_path)
    print("==> a notified stop of a service without auto scaling", flush=True)
    no_scaling = b.one(b.no_scaling_path)
    print("==> TLS: cold incidents over HTTP and HTTPS", flush=True)
    tls = b.tls_cost()
    print("==> instructions (callgrind)", flush=True)
    ir_cold, ir_warm, ir_sha = b.instructions(function=args.profiled)
    print("==> storm: 1,000 stops across 20 services", flush=True)
    storm = b.storm()
    engine = criterion(args.criterion)
    b.server.stop()

    med = lambda key: statistics.median(r[key] for r in warm)  # noqa: E731
    floor = med("floor")
    # In AWS a cold incident opens, per endpoint, as many kept-alive connections as it has calls
    # in flight at once; each is a full handshake.
    tls_cold = (tls["per_handshake"] or 0) * cold["connections"]
    cold_128 = (init_cpu + cold["cpu"] + tls_cold) * 14 + floor
    cold_128_note = f"(init + cold CPU + {cold['connections']} handshakes) × 14 + floor"
    rows = [
        ("cold init (spawn → first /next): wall / CPU", f"{fmt_ms(init)} / {fmt_ms(init_cpu)}", "target ≤ 6 ms; median of 15"),
        ("incident, cold: wall / CPU", f"{fmt_ms(cold['wall'])} / {fmt_ms(cold['cpu'])}", f"{cold['calls']} AWS calls"),
        ("incident, warm (median of 20): wall / CPU", f"{fmt_ms(med('wall'))} / {fmt_ms(med('cpu'))}", f"{int(med('calls'))} AWS calls"),
        ("endpoints per incident", str(len(cold["endpoints"])), ", ".join(cold["endpoints"])),
        ("connections a cold incident opens in AWS (keep-alive)", str(cold["connections"]), "per endpoint, the most calls in flight at once"),
        ("benign stop, not notified", f"{benign['calls']} AWS calls", f"{len(benign['endpoints'])} endpoints: {', '.join(benign['endpoints'])}"),
        (
            "notified stop, service without auto scaling",
            f"{no_scaling['calls']} AWS calls",
            f"{no_scaling['rounds']} dependent rounds; Application Auto Scaling: {', '.join(no_scaling['scaling_ops']) or 'none'}",
        ),
        ("critical-path floor: same calls issued directly", fmt_ms(floor), f"{int(med('rounds'))} dependent rounds; warm wall = {med('wall') / floor:.2f}× floor (target ≤ 1.3×)"),
        ("emulator busy time during a warm incident", fmt_ms(med("busy")), f"warm wall = {med('wall') / med('busy'):.2f}× busy time"),
        ("instructions: init + cold incident", f"{ir_cold / 1e6:.1f} M" if ir_cold else "n/a", "callgrind"),
        ("instructions: warm incident", f"{ir_warm / 1e6:.1f} M" if ir_warm else "n/a", "callgrind; target ≤ 16.25 M"),
        (
            "  of which SHA-256 in software (valgrind hides SHA extensions)",
            f"{ir_sha / 1e6:.1f} M" if ir_sha is not None else "n/a",
            f"the rest: {(ir_warm - ir_sha) / 1e6:.1f} M" if ir_warm and ir_sha is not None else "",
        ),
        ("peak RSS", f"{rss / 1024:.1f} MiB", "target ≤ 25 MiB"),
        ("estimated at 128 MB (~7% of a vCPU): warm", fmt_ms(med("cpu") * 14 + floor), "warm CPU × 14 + floor"),
        (
            "TLS: spawn + init + cold incident CPU, HTTP / HTTPS",
            f"{fmt_ms(tls['plain_cpu'])} / {fmt_ms(tls['tls_cpu'])}",
            f"median of {tls['runs']} each; {tls['handshakes']:.0f} full handshakes in the HTTPS runs"
            + (f" → {fmt_ms(tls['per_handshake'])} CPU each" if tls["per_handshake"] else ""),
        ),
        ("estimated at 128 MB (~7% of a vCPU): cold", fmt_ms(cold_128), cold_128_note),
        ("storm: 1,000 stops / 20 services", f"{storm['seconds']:.1f} s", f"{storm['calls']} AWS calls, {storm['notifications']} notifications (target ≤ 40), {storm['records']} records"),
    ]
    rows.extend(lat_rows)
    for name, ns in sorted(engine.items()):
        rows.append((f"engine {name}", f"{1e9 / ns:,.0f} /s", f"{ns / 1000:.1f} µs each"))
    for label, path in (("artifact: bootstrap (arm64, stripped)", args.binary_arm64), ("artifact: zip", args.artifact)):
        if path and pathlib.Path(path).exists():
            rows.append((label, f"{pathlib.Path(path).stat().st_size / 1e6:.2f} MB", path))
    print_rows(rows)
    pathlib.Path(args.json).write_text(
        json.dumps({"latency": lat, "init_s": init, "init_cpu_s": init_cpu, "cold": cold, "warm": warm, "rss_kib": rss, "ir_cold": ir_cold, "ir_warm": ir_warm, "ir_warm_software_sha256": ir_sha, "storm": storm, "benign": benign, "no_scaling": no_scaling, "tls": tls, "engine_ns": engine}, indent=2)
    )


if __name__ == "__main__":
    main()
