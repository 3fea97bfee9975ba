//! The real `autopsy-lambda` binary under a local Lambda Runtime API, against the emulator.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::reporting::target;
use crate::sandbox::sandbox;

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lambda_env() -> Vec<(&'static str, String)> {
    let sb = sandbox();
    let mut env: Vec<(&'static str, String)> = sb.env().into_iter().collect();
    env.extend([
        ("AWS_LAMBDA_RUNTIME_API", sb.runtime_api.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", "ecs-autopsy".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/ecs-autopsy".to_owned(),
        ),
    ]);
    env
}

async fn invoke(payload: &Value) -> Value {
    let addr = sandbox().runtime_api.clone();
    let body = payload.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).expect("connect runtime API");
        write!(
            s,
            "POST /control/invoke HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let (_, json) = response.split_once("\r\n\r\n").expect("HTTP response");
        serde_json::from_str(json).expect("result JSON")
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn the_function_handles_the_seed_case_and_survives_bad_inputs() {
    let t = target(false).await;
    let mut env = lambda_env();
    env.push(("INCIDENT_TOPIC_ARN", t.app.config.topic_arn.clone()));
    env.push(("INCIDENT_BUCKET", t.app.config.bucket.clone()));
    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_autopsy-lambda"))
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start autopsy-lambda"),
    );
    let sb = sandbox();
    let seed: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.event_path("seed")).expect("event"))
            .expect("json");

    let first = invoke(&seed).await;
    assert_eq!(first["status"], "response", "{first}");
    assert!(
        first["body"]["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("Sent")),
        "{first}"
    );

    // Bad and foreign inputs: acknowledged or failed, never a crash, nothing published.
    let ec2: Value = serde_json::from_str(crate::event_text!("ignored_ec2_instance_state_change"))
        .expect("json");
    let running: Value = serde_json::from_str(crate::event_text!(
        "ignored_running_spot_termination_notice"
    ))
    .expect("json");
    let no_arn = json!({"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": {"lastStatus": "STOPPED"}});
    assert_eq!(invoke(&ec2).await["status"], "response");
    assert_eq!(invoke(&running).await["status"], "response");
    assert_eq!(invoke(&no_arn).await["status"], "error");
    assert_eq!(invoke(&json!([])).await["status"], "error");

    // The same process still serves the next valid event.
    let oom: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.event_path("oom-leak")).expect("event"))
            .expect("json");
    let last = invoke(&oom).await;
    assert_eq!(last["status"], "response", "{last}");

    let messages = t.messages().await;
    assert_eq!(
        messages.len(),
        2,
        "the seed and the OOM, nothing for the bad inputs"
    );
    let subjects: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["Subject"].as_str())
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("CPU-starved")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("OOM-killed")),
        "{subjects:?}"
    );
    let keys = t.keys().await;
    assert_eq!(
        keys.iter()
            .filter(|k| k.ends_with(".json") && !k.contains("_state"))
            .count(),
        2
    );
    assert_eq!(keys.iter().filter(|k| k.ends_with(".html")).count(), 2);
}

#[test]
fn a_bad_configuration_fails_init_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_autopsy-lambda"))
        .envs(lambda_env())
        .env("INCIDENT_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:t")
        .env("INCIDENT_BUCKET", "bucket")
        .env("LOOKBACK_MINUTES", "-5")
        .output()
        .expect("run autopsy-lambda");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LOOKBACK_MINUTES"), "{err}");
}
