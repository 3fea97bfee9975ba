#!/usr/bin/env python3
"""`make demo`: the whole function, end to end, on one machine with no AWS account.

Starts the AWS emulator seeded with the seed's incident (signup traffic, CPU pinned at the task's
512 units while the service Average looked fine, ALB health checks timing out, exit 137) and a
few others, runs the real `autopsy-lambda` binary under a local Lambda Runtime API, delivers
each stop event, and prints the SMS and the email each one produced and where its HTML report is.

    python tests/sandbox/demo.py --function target/debug/autopsy-lambda --out target/demo
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import sandbox  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

DEMO = [
    ("seed", "the seed's incident: signup day, CPU pinned at 512 units, ALB checks time out, exit 137"),
    ("oom-leak", "a memory leak until the OOM killer"),
    ("image-pull", "a deployment whose image tag does not exist"),
    ("deployment", "a rolling deployment (benign: archived, not notified)"),
]


def say(msg):
    print(f"==> {msg}", flush=True)


def capture_publishes():
    """Keeps every SNS Publish the emulator receives, so the demo can show SMS and email."""
    from moto.sns.models import SNSBackend

    published = []
    original = SNSBackend.publish

    def publish(self, message, *args, **kwargs):
        published.append({"message": message, "subject": kwargs.get("subject"), "structure": kwargs.get("message_structure")})
        return original(self, message, *args, **kwargs)

    SNSBackend.publish = publish
    return published


def invoke(runtime, payload):
    req = urllib.request.Request(
        f"http://{runtime.address}/control/invoke", data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--function", required=True)
    ap.add_argument("--out", default="target/demo")
    args = ap.parse_args()
    out = pathlib.Path(args.out).resolve()
    (out / "events").mkdir(parents=True, exist_ok=True)

    say("starting the local AWS emulator (moto) on 127.0.0.1")
    server, endpoint = sandbox.start_server()
    published = capture_publishes()
    seeder = sandbox.Seeder(endpoint)
    events = {}
    for name, what in DEMO:
        say(f"seeding {name}: {what}")
        events[name] = seeder.seed(name, sandbox.SCENARIOS[name], out / "events")

    import boto3

    kw = dict(endpoint_url=endpoint, region_name=sandbox.REGION, aws_access_key_id="demo", aws_secret_access_key="demo")
    s3 = boto3.client("s3", **kw)
    bucket = "ecs-autopsy-demo"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": sandbox.REGION})
    topic = boto3.client("sns", **kw).create_topic(Name="ecs-autopsy-incidents")["TopicArn"]
    say(f"archive bucket {bucket}, topic {topic}")

    runtime = RuntimeApi(timeout_seconds=60)
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=runtime.address,
        AWS_LAMBDA_FUNCTION_NAME="ecs-autopsy",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="demo",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/ecs-autopsy",
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=sandbox.REGION,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        INCIDENT_TOPIC_ARN=topic,
        INCIDENT_BUCKET=bucket,
        RUST_LOG=os.environ.get("RUST_LOG", "warn"),
    )
    say(f"running {args.function} under a local Lambda Runtime API at {runtime.address}")
    fn = subprocess.Popen([args.function], env=env)
    try:
        for name, what in DEMO:
            payload = json.loads(pathlib.Path(events[name]).read_text())
            say(f"delivering {name}: {what}")
            before = len(published)
            t0 = time.time()
            result = invoke(runtime, payload)
            say(f"function answered {result['status']} in {time.time() - t0:.1f} s: {json.dumps(result['body'])[:160]}")
            for p in published[before:]:
                msg = json.loads(p["message"])
                print()
                print(f"   SMS ({len(msg['sms'])} chars): {msg['sms']}")
                print(f"   Subject: {p['subject']}")
                print("   Email:")
                for line in msg["email"].splitlines():
                    print(f"   | {line}")
                print()
            if len(published) == before:
                say("no notification (benign stops are archived only)")
            listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"incidents/cluster={name}/").get("Contents", [])
            for obj in listing:
                if obj["Key"].endswith(".html"):
                    local = out / f"{name}.html"
                    local.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
                    say(f"HTML report: {local}  (archived as s3://{bucket}/{obj['Key']})")
        say("delivering the seed's event again: a duplicate is acknowledged, not notified twice")
        before = len(published)
        result = invoke(runtime, json.loads(pathlib.Path(events["seed"]).read_text()))
        say(f"function answered {result['status']}; new notifications: {len(published) - before}")
        say("delivering a RUNNING task's event: acknowledged and ignored")
        running = json.loads((sandbox.ROOT / "events" / "ignored_running_spot_termination_notice.json").read_text())
        say(f"function answered {invoke(runtime, running)['status']}")
        say("delivering `[]`: an error, so Lambda would retry it and keep it in the on-failure destination")
        say(f"function answered {invoke(runtime, [])['status']}")
    finally:
        fn.terminate()
        fn.wait(timeout=10)
        runtime.stop()
        server.stop()
    say(f"done: reports under {out}")


if __name__ == "__main__":
    main()
