//! The local AWS for integration tests: moto started once per test binary by
//! tests/sandbox/sandbox.py, seeded with the incidents of events/. It exits when this process
//! does (its standard input closes).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::Credentials;
use ecs_autopsy::event::TaskStateChange;

pub struct Sandbox {
    pub endpoint: String,
    /// host:port of the local Lambda Runtime API.
    pub runtime_api: String,
    pub events: HashMap<String, PathBuf>,
    /// One line per role ARN the emulator let be assumed.
    pub assume_role_log: PathBuf,
    _child: Child,
    _dir: PathBuf,
}

#[derive(serde::Deserialize)]
struct Ready {
    endpoint: String,
    runtime_api: String,
    events: HashMap<String, PathBuf>,
    assume_role_log: PathBuf,
}

fn python() -> PathBuf {
    std::env::var_os("ECS_AUTOPSY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn start() -> Sandbox {
    let py = python();
    assert!(
        py.exists(),
        "{} not found: run `make test` (it creates .venv with the pinned moto) or set ECS_AUTOPSY_PYTHON",
        py.display()
    );
    let dir = std::env::temp_dir().join(format!("ecs-autopsy-sandbox-{}", std::process::id()));
    let mut child = Command::new(&py)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/sandbox.py"))
        .arg("--out")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the sandbox");
    let stdout = child.stdout.take().expect("sandbox stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(json) = line.strip_prefix("READY ") {
                    break serde_json::from_str::<Ready>(json).expect("READY line is JSON");
                }
            }
            _ => panic!("the sandbox exited before it was ready (see its output above)"),
        }
    };
    Sandbox {
        endpoint: ready.endpoint,
        runtime_api: ready.runtime_api,
        events: ready.events,
        assume_role_log: ready.assume_role_log,
        _child: child,
        _dir: dir,
    }
}

pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(start)
}

impl Sandbox {
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "sandbox"))
            .load()
            .await
    }

    pub fn event_path(&self, scenario: &str) -> &PathBuf {
        self.events
            .get(scenario)
            .unwrap_or_else(|| panic!("no scenario {scenario} in the sandbox"))
    }

    pub fn event(&self, scenario: &str) -> TaskStateChange {
        let text = std::fs::read_to_string(self.event_path(scenario)).expect("scenario event");
        crate::support::stopped(&text)
    }

    /// The environment that points the CLI at the sandbox.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
    }
}

/// Values the sandbox plants in task definitions and logs; none may come back.
pub const PLANTED: [&str; 4] = [
    "planted-env-value-7Qx9",
    "planted-db-secret-Zz91",
    "planted-log-password-4Kd2",
    "AKIAPLANTEDKEY000001",
];
