#!/usr/bin/env python3
"""A local AWS for the tests and the demo: moto in server mode on 127.0.0.1, seeded with incidents.

Each scenario is one sample of events/ (the event and its evidence) planted into the emulator:
cluster, task definition (with planted environment values and secrets that must never come
back), EC2 host or Fargate networking, load balancer and target group, service, the stopped
task with its stop code and exit codes, earlier stops, service events, CloudWatch metrics and
container logs, the service's Application Auto Scaling target and policies, the cluster's
capacity providers. Fields the API cannot set (service events, stop codes, exit codes, timestamps)
are set through moto's backends, which live in this process; moto has no
DescribeScalingActivities, so the planted activities are served by a small handler added here.

Prints `READY {"endpoint": ..., "events": {scenario: path}}` once seeded, then serves until its
standard input closes (the test process ended) or it is interrupted.

    python tests/sandbox/sandbox.py --out DIR [--scenario NAME ...] [--port N]
"""

import argparse
import json
import pathlib
import re
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
# Org-wide: a member account in another region with the read role, and one without it.
MEMBER_ACCOUNT = "210987654321"
MEMBER_REGION = "us-east-1"
ROLELESS_ACCOUNT = "333333333333"
# An account with the read role and nothing else: only the credentials-cache test uses it.
CACHE_ACCOUNT = "444444444444"
MEMBER_ROLE_NAME = "ecs-autopsy-read"
MEMBER_EXTERNAL_ID = "sandbox-external-id"
# How the seeder itself gets into the member account.
SEEDER_ROLE_NAME = "sandbox-seeder"
# Every role ARN moto let be assumed, one per line (main sets it under --out), so a test can count
# AssumeRole calls without dumping moto's whole state.
ASSUME_ROLE_LOG = None

# Values planted in the task definition and logs that must never reach evidence, SNS or S3.
PLANTED_ENV_VALUE = "planted-env-value-7Qx9"
PLANTED_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:planted-db-secret-Zz91"
PLANTED_LOG_PASSWORD = "planted-log-password-4Kd2"
PLANTED_LOG_KEY = "AKIAPLANTEDKEY000001"

SCENARIOS = {
    "seed": "cpu_starved_elb_kill_ec2_signup_day",
    "credits": "cpu_starved_burstable_host_out_of_credits",
    "oom-leak": "oom_killed_reason_fargate_leak",
    "oom-spike": "oom_killed_no_reason_ec2_memory_spike",
    "image-pull": "failed_to_start_image_tag_not_found",
    "secrets": "failed_to_start_secrets_access_denied",
    "deployment": "deployment_replaced_new_revision",
    "crash-loop": "app_crashed_exit_1_crash_loop",
    "http-502": "elb_health_check_failed_502_resources_idle",
    "spot": "spot_interrupted_fargate_spot",
    "sidecar-oom": "oom_killed_sidecar_own_limit_container_record",
    "disk-full": "app_crashed_disk_full_enospc_ephemeral_storage",
    "at-max": "cpu_starved_at_max_capacity_fargate",
    "no-scaling": "cpu_starved_no_scaling_no_log_metrics",
}

# Scenarios seeded in MEMBER_ACCOUNT / MEMBER_REGION; "roleless-member-oom" is member-oom's event
# moved into ROLELESS_ACCOUNT, where no role can be assumed.
MEMBER_SCENARIOS = {
    "member-oom": "oom_killed_reason_fargate_leak",
    "member-crash-loop": "app_crashed_exit_1_crash_loop",
}

# Scaling activities by resource id, served by the DescribeScalingActivities handler.
ACTIVITIES = {}


def parse_time(s):
    return datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z") if "." in s else datetime.strptime(
        s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z"
    )


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def shift_times(text, delta):
    def move(m):
        t = parse_time(m.group(0)) + delta
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    return TIMESTAMP.sub(move, text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_role(account, name, trust):
    """A role created straight in moto's IAM backend of `account` (no credentials needed)."""
    from moto.iam.models import iam_backends

    iam_backends[account]["aws"].create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="sandbox",
        tags=[],
        max_session_duration=None,
    )


def member_trust(external_id):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


class Seeder:
    def __init__(self, endpoint, account=ACCOUNT, region=REGION):
        import boto3

        self.account = account
        self.region = region
        kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
        if account != ACCOUNT:
            # moto keys accounts by credentials: act in the member account through a role there.
            create_role(account, SEEDER_ROLE_NAME, member_trust("seeder"))
            creds = boto3.client("sts", **kw).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{SEEDER_ROLE_NAME}", RoleSessionName="seeder", ExternalId="seeder"
            )["Credentials"]
            kw.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        self.ecs = boto3.client("ecs", **kw)
        self.ec2 = boto3.client("ec2", **kw)
        self.elb = boto3.client("elbv2", **kw)
        self.cw = boto3.client("cloudwatch", **kw)
        self.logs = boto3.client("logs", **kw)
        self.aas = boto3.client("application-autoscaling", **kw)
        from moto.ecs.models import ecs_backends

        self.backend = ecs_backends[account][region]
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.vpc = vpc
        self.subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
            for i, az in enumerate("ab")
        ]
        self.sg = self.ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        self.lb_arn = self.elb.create_load_balancer(Name="judge", Subnets=self.subnets, SecurityGroups=[self.sg])[
            "LoadBalancers"
        ][0]["LoadBalancerArn"]
        self.ami = self.ec2.describe_images()["Images"][0]["ImageId"]

    # --- helpers -------------------------------------------------------------------------------

    def moto_task(self, cluster, arn):
        return self.backend.tasks[cluster][arn]

    def set_stopped(self, cluster, arn, detail, container_states, stopped_at=None):
        t = self.moto_task(cluster, arn)
        t.last_status = "STOPPED"
        t.desired_status = "STOPPED"
        if detail.get("stopCode"):
            t.stop_code = detail["stopCode"]
        t.stopped_reason = detail.get("stoppedReason", "")
        for key in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "executionStoppedAt", "stoppedAt"):
            if detail.get(key):
                setattr(t, key, parse_time(detail[key]))
        if stopped_at:
            t.stoppedAt = stopped_at
        for c, state in zip(t.containers, container_states):
            c.last_status = "STOPPED"
            if "exitCode" in state:
                c.exitCode = state["exitCode"]
            else:
                c.exitCode = None
            if state.get("reason"):
                c.reason = state["reason"]
        return t

    def put_metrics(self, namespace, name, dims, points, unit="None"):
        data = []
        for p in points:
            datum = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": parse_time(p["at"]),
                "Unit": unit,
            }
            if "stats" in p:
                datum["StatisticValues"] = p["stats"]
            else:
                datum["Value"] = float(p["value"])
            data.append(datum)
        for i in range(0, len(data), 500):
            self.cw.put_metric_data(Namespace=namespace, MetricData=data[i : i + 500])

    # --- one scenario --------------------------------------------------------------------------

    def seed(self, scenario, fixture, out_dir):
        ev_text = (ROOT / "events" / f"{fixture}.json").read_text()
        ev_path = ROOT / "events" / f"{fixture}.evidence.json"
        evidence_text = ev_path.read_text() if ev_path.exists() else "{}"
        # Move the incident to a few minutes ago: CloudWatch Logs (and moto) refuse events older
        # than 14 days. Whole minutes keep the metrics on their minute boundaries.
        stop = parse_time(json.loads(ev_text)["detail"]["stoppedAt"])
        target = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=8)
        shift = timedelta(minutes=round((target - stop).total_seconds() / 60))
        ev = json.loads(shift_times(ev_text, shift))
        evidence = json.loads(shift_times(evidence_text, shift))
        d = ev["detail"]
        cluster = scenario
        self.ecs.create_cluster(clusterName=cluster)
        ec2_launch = d.get("launchType") == "EC2"
        td_facts = evidence.get("task_definition") or {}
        family = td_facts.get("family") or d["taskDefinitionArn"].rsplit("/", 1)[1].split(":")[0]
        log_group = f"/ecs/{cluster}/{family}"

        containers = []
        by_name = {c["name"]: c for c in td_facts.get("containers", [])}
        for c in d["containers"]:
            facts = by_name.get(c["name"], {})
            cdef = {
                "name": c["name"],
                "image": c.get("image", "public.ecr.aws/docker/library/nginx:1.27"),
                "cpu": int(facts.get("cpu") or 0),
                "essential": facts.get("essential", True),
                "environment": [{"name": "DB_PASSWORD_PLAIN", "value": PLANTED_ENV_VALUE}]
                + [{"name": n, "value": "x"} for n in facts.get("environment_names", [])],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": PLANTED_SECRET_ARN}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": log_group, "awslogs-region": self.region, "awslogs-stream-prefix": "ecs"},
                },
                "portMappings": [{"containerPort": p, "protocol": "tcp"} for p in facts.get("port_mappings", [8080])],
            }
            memory = facts.get("memory") or c.get("memory")
            if memory:
                cdef["memory"] = int(memory)
            if facts.get("memory_reservation") or c.get("memoryReservation"):
                cdef["memoryReservation"] = int(facts.get("memory_reservation") or c.get("memoryReservation"))
            if facts.get("health_check"):
                h = facts["health_check"]
                cdef["healthCheck"] = {
                    "command": h["command"],
                    "interval": h.get("interval_seconds") or 30,
                    "timeout": h.get("timeout_seconds") or 5,
                    "retries": h.get("retries") or 3,
                    "startPeriod": h.get("start_period_seconds") or 0,
                }
            if facts.get("stop_timeout"):
                cdef["stopTimeout"] = facts["stop_timeout"]
            containers.append(cdef)
        # moto's placement sums every container's memory, whatever the launch type.
        for c in containers:
            if "memory" not in c and "memoryReservation" not in c:
                c["memoryReservation"] = int(td_facts.get("memory") or d.get("memory") or 512)
        td_kw = dict(
            family=family,
            containerDefinitions=containers,
            networkMode="bridge" if ec2_launch else "awsvpc",
            requiresCompatibilities=["EC2"] if ec2_launch else ["FARGATE"],
            executionRoleArn=f"arn:aws:iam::{self.account}:role/{family}-execution",
        )
        cpu = td_facts.get("cpu") or d.get("cpu")
        memory = td_facts.get("memory") or d.get("memory")
        if cpu:
            td_kw["cpu"] = str(cpu)
        if memory:
            td_kw["memory"] = str(memory)
        td_arn = self.ecs.register_task_definition(**td_kw)["taskDefinition"]["taskDefinitionArn"]

        instance_id = None
        ci_arn = None
        host = evidence.get("host") or {}
        if ec2_launch:
            itype = host.get("instance_type") or "m5.large"
            instance_id = self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType=itype, SubnetId=self.subnets[0])[
                "Instances"
            ][0]["InstanceId"]
            doc = json.dumps({"instanceId": instance_id, "region": self.region, "instanceType": itype})
            ci_arn = self.ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=doc)["containerInstance"][
                "containerInstanceArn"
            ]

        net = None if ec2_launch else {"awsvpcConfiguration": {"subnets": [self.subnets[0]], "securityGroups": [self.sg]}}
        service_name = d["group"].split(":", 1)[1] if d.get("group", "").startswith("service:") else None
        tg_arn = None
        facts_service = evidence.get("service") or {}
        for tg in evidence.get("target_groups") or []:
            hc = tg.get("health_check") or {}
            tg_arn = self.elb.create_target_group(
                Name=f"{cluster}-{tg['name']}"[:32],
                Protocol="HTTP",
                Port=8080,
                VpcId=self.vpc,
                TargetType="instance" if ec2_launch else "ip",
                HealthCheckProtocol="HTTP",
                HealthCheckPath=hc.get("path", "/health"),
                HealthCheckIntervalSeconds=hc.get("interval_seconds", 10),
                HealthCheckTimeoutSeconds=hc.get("timeout_seconds", 5),
                HealthyThresholdCount=hc.get("healthy_threshold", 3),
                UnhealthyThresholdCount=hc.get("unhealthy_threshold", 3),
                Matcher={"HttpCode": hc.get("matcher", "200")},
            )["TargetGroups"][0]["TargetGroupArn"]
            self.elb.create_listener(
                LoadBalancerArn=self.lb_arn,
                Protocol="HTTP",
                Port=8000 + len(self.elb.describe_listeners(LoadBalancerArn=self.lb_arn)["Listeners"]),
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
            )
            break

        if service_name:
            svc_kw = dict(cluster=cluster, serviceName=service_name, taskDefinition=td_arn, desiredCount=0, launchType="EC2" if ec2_launch else "FARGATE")
            if net:
                svc_kw["networkConfiguration"] = net
            if tg_arn:
                svc_kw["loadBalancers"] = [{"targetGroupArn": tg_arn, "containerName": d["containers"][0]["name"], "containerPort": 8080}]
                svc_kw["healthCheckGracePeriodSeconds"] = facts_service.get("health_check_grace_period_seconds") or 0
            self.ecs.create_service(**svc_kw)

        def run_one():
            kw = dict(cluster=cluster, taskDefinition=td_arn, launchType="EC2" if ec2_launch else "FARGATE", group=d.get("group", f"family:{family}"))
            if d.get("startedBy"):
                kw["startedBy"] = d["startedBy"]
            if net:
                kw["networkConfiguration"] = net
            return self.ecs.run_task(**kw)["tasks"][0]["taskArn"]

        # Earlier stops of the same service.
        for r in evidence.get("recent_stops") or []:
            arn = run_one()
            self.ecs.stop_task(cluster=cluster, task=arn, reason=r.get("stopped_reason") or "")
            self.set_stopped(
                cluster,
                arn,
                {"stopCode": r.get("stop_code"), "stoppedReason": r.get("stopped_reason")},
                [{"exitCode": c.get("exit_code")} for c in r.get("containers", [])],
                stopped_at=parse_time(r["stopped_at"]) if r.get("stopped_at") else None,
            )

        task_arn = run_one()
        task_id = task_arn.rsplit("/", 1)[1]
        self.ecs.stop_task(cluster=cluster, task=task_arn, reason=d.get("stoppedReason", ""))
        self.set_stopped(cluster, task_arn, d, d["containers"])

        # A deployment that moved the service on to a new revision.
        primary = facts_service.get("deployments", [{}])[0].get("task_definition")
        if service_name and primary and primary != d["taskDefinitionArn"]:
            new_td = self.ecs.register_task_definition(**td_kw)["taskDefinition"]["taskDefinitionArn"]
            self.ecs.update_service(cluster=cluster, service=service_name, taskDefinition=new_td)
            # moto keeps the first deployment's revision; a real rolling deployment makes the new
            # revision PRIMARY and leaves the old one ACTIVE while it drains.
            svc = self.backend.services[f"{cluster}:{service_name}"]
            if svc.deployments:
                old = dict(svc.deployments[0], status="ACTIVE", id=svc.deployments[0]["id"] + "0")
                svc.deployments[0]["taskDefinition"] = new_td
                svc.deployments.append(old)

        if service_name and facts_service.get("events"):
            svc = self.backend.services[f"{cluster}:{service_name}"]
            svc.events = [
                {
                    "id": f"{scenario}-{i}",
                    "createdAt": parse_time(e["at"]),
                    "message": e["message"].replace(d["taskArn"].rsplit("/", 1)[1], task_id),
                }
                for i, e in enumerate(reversed(facts_service["events"]))
            ]

        # The service is created with no desired tasks, or moto would place them; the counts
        # are evidence (the report's scaling rows), so they are set on moto's model after.
        if service_name and facts_service.get("desired_count") is not None:
            svc = self.backend.services[f"{cluster}:{service_name}"]
            svc.desired_count = int(facts_service["desired_count"])
            svc.running_count = int(facts_service.get("running_count") or 0)
            svc.pending_count = int(facts_service.get("pending_count") or 0)
            for dep, facts in zip(svc.deployments, facts_service.get("deployments") or []):
                dep["desiredCount"] = int(facts.get("desired_count") or 0)
                dep["runningCount"] = int(facts.get("running_count") or 0)
                dep["pendingCount"] = int(facts.get("pending_count") or 0)

        if service_name:
            self.plant_scaling(evidence, cluster, service_name)
        if ec2_launch:
            self.plant_capacity(evidence.get("capacity"), cluster)
        self.plant_metrics(evidence.get("metrics") or {}, cluster, service_name, family, task_id, td_kw, instance_id, tg_arn, log_group)
        self.plant_logs(evidence.get("logs") or [], log_group, task_id)
        self.plant_performance(evidence.get("metrics") or {}, cluster, family, task_id)

        d["taskArn"] = task_arn
        d["clusterArn"] = f"arn:aws:ecs:{self.region}:{self.account}:cluster/{cluster}"
        ev["account"] = self.account
        ev["region"] = self.region
        d["taskDefinitionArn"] = td_arn
        if ci_arn:
            d["containerInstanceArn"] = ci_arn
        for c in d["containers"]:
            c["taskArn"] = task_arn
        ev["resources"] = [task_arn]
        path = pathlib.Path(out_dir) / f"{scenario}.json"
        path.write_text(json.dumps(ev, indent=2))
        return str(path)

    def plant_scaling(self, evidence, cluster, service):
        """The scalable target and its policies, as the sample's `scaling` says; nothing when the
        sample has no scalable target."""
        rid = f"service/{cluster}/{service}"
        dim = "ecs:service:DesiredCount"
        target = (evidence.get("scaling") or {}).get("target")
        if target:
            self.aas.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=rid,
                ScalableDimension=dim,
                MinCapacity=target["min_capacity"],
                MaxCapacity=target["max_capacity"],
                SuspendedState={
                    "DynamicScalingInSuspended": target.get("scale_in_suspended", False),
                    "DynamicScalingOutSuspended": target.get("scale_out_suspended", False),
                    "ScheduledScalingSuspended": target.get("scheduled_suspended", False),
                },
            )
            for p in evidence["scaling"].get("policies", []):
                conf = {"TargetValue": p["target_value"], "PredefinedMetricSpecification": {"PredefinedMetricType": p["metric"]}}
                if p.get("scale_out_cooldown_s") is not None:
                    conf["ScaleOutCooldown"] = p["scale_out_cooldown_s"]
                self.aas.put_scaling_policy(
                    PolicyName=p["name"],
                    ServiceNamespace="ecs",
                    ResourceId=rid,
                    ScalableDimension=dim,
                    PolicyType=p["policy_type"],
                    TargetTrackingScalingPolicyConfiguration=conf,
                )
        ACTIVITIES[rid] = [
            {
                "ActivityId": f"{rid}-{i}",
                "ServiceNamespace": "ecs",
                "ResourceId": rid,
                "ScalableDimension": dim,
                "Description": a["description"],
                "Cause": a["cause"].replace("service/prod/", f"service/{cluster}/"),
                "StartTime": parse_time(a["start"]).timestamp(),
                **({"EndTime": parse_time(a["end"]).timestamp()} if a.get("end") else {}),
                "StatusCode": a["status"],
                **({"StatusMessage": a["status_message"]} if a.get("status_message") else {}),
                "NotScaledReasons": [
                    {"Code": r["code"], **{k: r[s] for k, s in (("MaxCapacity", "max_capacity"), ("MinCapacity", "min_capacity"), ("CurrentCapacity", "current_capacity")) if r.get(s) is not None}}
                    for r in a.get("not_scaled", [])
                ],
            }
            for i, a in enumerate(evidence.get("scaling_activities") or [])
        ]

    def plant_capacity(self, facts, cluster):
        """Capacity providers named after the scenario (they are account-wide in ECS)."""
        if not facts:
            return
        names = []
        for p in facts.get("providers", []):
            name = f"{cluster}-{p['name']}"
            managed = {"status": p.get("managed_scaling") or "DISABLED"}
            if p.get("target_capacity_pct"):
                managed["targetCapacity"] = p["target_capacity_pct"]
            self.ecs.create_capacity_provider(
                name=name,
                autoScalingGroupProvider={
                    "autoScalingGroupArn": p["auto_scaling_group_arn"],
                    "managedScaling": managed,
                    "managedTerminationProtection": p.get("managed_termination_protection") or "DISABLED",
                },
            )
            names.append(name)
        if names:
            self.ecs.put_cluster_capacity_providers(
                cluster=cluster,
                capacityProviders=names,
                defaultCapacityProviderStrategy=[{"capacityProvider": n, "weight": 1, "base": 0} for n in names],
            )

    def plant_metrics(self, m, cluster, service, family, task_id, td_kw, instance_id, tg_arn, log_group):
        cpu_units = float(td_kw.get("cpu") or 1024)
        limit = float(td_kw.get("memory") or sum(c.get("memory", 0) for c in td_kw["containerDefinitions"]) or 512)
        task_dims = [("ClusterName", cluster), ("TaskDefinitionFamily", family), ("TaskId", task_id)]
        if m.get("task_cpu_pct"):
            pts = m["task_cpu_pct"]["points"]
            self.put_metrics("ECS/ContainerInsights", "CpuUtilized", task_dims, [{"at": p["at"], "value": p["value"] / 100 * cpu_units} for p in pts])
            self.put_metrics("ECS/ContainerInsights", "CpuReserved", task_dims, [{"at": p["at"], "value": cpu_units} for p in pts])
        if m.get("task_memory_pct"):
            pts = m["task_memory_pct"]["points"]
            self.put_metrics("ECS/ContainerInsights", "MemoryUtilized", task_dims, [{"at": p["at"], "value": p["value"] / 100 * limit} for p in pts], "Megabytes")
            self.put_metrics("ECS/ContainerInsights", "MemoryReserved", task_dims, [{"at": p["at"], "value": limit} for p in pts], "Megabytes")
        if service:
            svc_dims = [("ClusterName", cluster), ("ServiceName", service)]
            for metric, avg_key, max_key in (
                ("CPUUtilization", "service_cpu_avg_pct", "service_cpu_max_pct"),
                ("MemoryUtilization", "service_memory_avg_pct", "service_memory_max_pct"),
            ):
                avg = {p["at"]: p["value"] for p in (m.get(avg_key) or {}).get("points", [])}
                mx = {p["at"]: p["value"] for p in (m.get(max_key) or {}).get("points", [])}
                stats = []
                for at in sorted(set(avg) | set(mx)):
                    a = avg.get(at, mx.get(at))
                    x = mx.get(at, a)
                    # Three tasks: one at the maximum, two sharing the rest of the average.
                    rest = max((3 * a - x) / 2, 0.0)
                    stats.append({"at": at, "stats": {"SampleCount": 3.0, "Sum": 3 * a, "Minimum": min(rest, x), "Maximum": x}})
                if stats:
                    self.put_metrics("AWS/ECS", metric, svc_dims, stats, "Percent")
        if tg_arn:
            dims = [("TargetGroup", tg_arn.rsplit(":", 1)[1]), ("LoadBalancer", self.lb_arn.split(":loadbalancer/", 1)[1])]
            for key, metric in (
                ("alb_target_response_time_s", "TargetResponseTime"),
                ("alb_unhealthy_hosts", "UnHealthyHostCount"),
                ("alb_healthy_hosts", "HealthyHostCount"),
                ("alb_target_5xx", "HTTPCode_Target_5XX_Count"),
                ("alb_requests", "RequestCount"),
                ("alb_requests_per_target", "RequestCountPerTarget"),
            ):
                if m.get(key):
                    self.put_metrics("AWS/ApplicationELB", metric, dims, m[key]["points"])
        for key, metric, unit in (("log_events", "IncomingLogEvents", "None"), ("log_bytes", "IncomingBytes", "Bytes")):
            if m.get(key):
                self.put_metrics("AWS/Logs", metric, [("LogGroupName", log_group)], m[key]["points"], unit)
        for key, metric in (("cluster_cpu_reservation_pct", "CPUReservation"), ("cluster_memory_reservation_pct", "MemoryReservation")):
            if m.get(key):
                self.put_metrics("AWS/ECS", metric, [("ClusterName", cluster)], m[key]["points"], "Percent")
        if instance_id:
            for key, metric in (("host_cpu_credit_balance", "CPUCreditBalance"), ("host_cpu_pct", "CPUUtilization")):
                if m.get(key):
                    self.put_metrics("AWS/EC2", metric, [("InstanceId", instance_id)], m[key]["points"])

    def plant_performance(self, m, cluster, family, task_id):
        """Container Insights performance log events: one `Type: Container` record per container
        and minute, and `Type: Task` records carrying the ephemeral storage figures."""
        records = []
        for c in m.get("containers") or []:
            for p in c["memory_mib"]["points"]:
                records.append((parse_time(p["at"]), {
                    "Version": "0", "Type": "Container", "ContainerName": c["container"], "TaskId": task_id,
                    "TaskDefinitionFamily": family, "ClusterName": cluster, "ContainerKnownStatus": "RUNNING",
                    "CpuUtilized": 0.0, "CpuReserved": 0.0, "MemoryUtilized": p["value"], "MemoryReserved": 0,
                }))
        used = (m.get("ephemeral_storage_utilized_gb") or {}).get("points") or []
        reserved = {p["at"]: p["value"] for p in (m.get("ephemeral_storage_reserved_gb") or {}).get("points") or []}
        for p in used:
            records.append((parse_time(p["at"]), {
                "Version": "0", "Type": "Task", "TaskId": task_id, "TaskDefinitionFamily": family, "ClusterName": cluster,
                "CpuUtilized": 0.0, "CpuReserved": 0.0, "MemoryUtilized": 0, "MemoryReserved": 0,
                "EphemeralStorageUtilized": p["value"], "EphemeralStorageReserved": reserved.get(p["at"], 0.0),
            }))
        if not records:
            return
        group = f"/aws/ecs/containerinsights/{cluster}/performance"
        try:
            self.logs.create_log_group(logGroupName=group)
        except self.logs.exceptions.ResourceAlreadyExistsException:
            pass
        stream = f"FargateTelemetry-{task_id[:8]}"
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        records.sort(key=lambda r: r[0])
        events = []
        for at, body in records:
            body["Timestamp"] = int(at.timestamp() * 1000)
            events.append({"timestamp": body["Timestamp"], "message": json.dumps(body)})
        self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    def plant_logs(self, tails, group, task_id):
        if not tails:
            return
        try:
            self.logs.create_log_group(logGroupName=group)
        except self.logs.exceptions.ResourceAlreadyExistsException:
            pass
        for tail in tails:
            stream = f"ecs/{tail['container']}/{task_id}"
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
            lines = tail["lines"]
            first = parse_time(lines[0]["at"]) if lines else datetime.now(timezone.utc)
            planted = [
                {"timestamp": int((first - timedelta(seconds=20)).timestamp() * 1000), "message": f"db url postgres://judge:{PLANTED_LOG_PASSWORD}@db:5432/judge"},
                {"timestamp": int((first - timedelta(seconds=10)).timestamp() * 1000), "message": f"using key {PLANTED_LOG_KEY}"},
            ]
            events = planted + [{"timestamp": int(parse_time(l["at"]).timestamp() * 1000), "message": l["message"]} for l in lines]
            self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def patch_moto():
    """moto 5.2.5's RunTask for awsvpc reads an ENI attribute its model lacks; supply it. And
    moto answers CloudWatch only in JSON while the Rust client speaks RPC v2 CBOR: bridge it."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    import cbor_bridge

    cbor_bridge.install()

    # moto lets any role be assumed; AWS refuses a role that does not exist or whose trust policy's
    # sts:ExternalId does not match. The org-wide tests need that refusal.
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    import warnings

    # AccessDenied is not in STS's error model; moto warns on every refusal.
    warnings.filterwarnings("ignore", message=r"Exception\(STSClientError\) with code AccessDenied")
    assume_role = STSBackend.assume_role

    def strict_assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        denied = STSClientError(
            "AccessDenied", f"User: arn:aws:iam::{self.account_id}:user/sandbox is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        try:
            role = iam_backends[account]["aws"].get_role(name)
        except Exception:
            raise denied
        wanted = [
            st.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
            for st in json.loads(role.assume_role_policy_document).get("Statement", [])
        ]
        if any(w is not None for w in wanted) and external_id not in wanted:
            raise denied
        if ASSUME_ROLE_LOG is not None:
            with open(ASSUME_ROLE_LOG, "a") as log:
                log.write(role_arn + "\n")
        return assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id)

    STSBackend.assume_role = strict_assume_role

    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def describe_scaling_activities(self):
        params = json.loads(self.body or "{}")
        acts = ACTIVITIES.get(params.get("ResourceId"), [])
        acts = sorted(acts, key=lambda a: a["StartTime"], reverse=True)[: int(params.get("MaxResults") or 50)]
        if not params.get("IncludeNotScaledActivities"):
            acts = [dict(a, NotScaledReasons=[]) for a in acts]
        return json.dumps({"ScalingActivities": acts})

    ApplicationAutoScalingResponse.describe_scaling_activities = describe_scaling_activities

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = property(
            lambda self: "ip-" + str(self.private_ip_address).replace(".", "-") + f".{REGION}.compute.internal"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server, endpoint = start_server(args.port)
    pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    global ASSUME_ROLE_LOG
    ASSUME_ROLE_LOG = str(pathlib.Path(args.out) / "assume-role.log")
    seeder = Seeder(endpoint)
    events = {}
    for name in args.scenario or SCENARIOS:
        events[name] = seeder.seed(name, SCENARIOS[name], args.out)
    if not args.scenario:
        create_role(MEMBER_ACCOUNT, MEMBER_ROLE_NAME, member_trust(MEMBER_EXTERNAL_ID))
        create_role(CACHE_ACCOUNT, MEMBER_ROLE_NAME, member_trust(MEMBER_EXTERNAL_ID))
        member = Seeder(endpoint, MEMBER_ACCOUNT, MEMBER_REGION)
        for name, fixture in MEMBER_SCENARIOS.items():
            events[name] = member.seed(name, fixture, args.out)
        # The same stop as if it came from an account without the role.
        text = pathlib.Path(events["member-oom"]).read_text().replace(MEMBER_ACCOUNT, ROLELESS_ACCOUNT)
        roleless = pathlib.Path(args.out) / "roleless-member-oom.json"
        roleless.write_text(text)
        events["roleless-member-oom"] = str(roleless)
        cached = pathlib.Path(args.out) / "cache-member-oom.json"
        cached.write_text(pathlib.Path(events["member-oom"]).read_text().replace(MEMBER_ACCOUNT, CACHE_ACCOUNT))
        events["cache-member-oom"] = str(cached)
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from runtime_api import RuntimeApi

    runtime = RuntimeApi()
    ready = {
        "endpoint": endpoint,
        "region": REGION,
        "events": events,
        "runtime_api": runtime.address,
        "assume_role_log": ASSUME_ROLE_LOG,
        "member": {"account": MEMBER_ACCOUNT, "region": MEMBER_REGION, "role_name": MEMBER_ROLE_NAME, "external_id": MEMBER_EXTERNAL_ID},
    }
    print("READY " + json.dumps(ready), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    runtime.stop()
    server.stop()


def start_server(port=0):
    """Starts moto on 127.0.0.1 in this process; returns (server, endpoint)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_moto()
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    main()
