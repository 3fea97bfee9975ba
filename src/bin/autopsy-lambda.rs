//! The Lambda function: configuration and clients once at init, then one incident per event.

use std::sync::Arc;
use std::time::Duration;

use ecs_autopsy::app::App;
use ecs_autopsy::config::Config;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

// See Cargo.toml: an incident is mostly short-lived allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON logs when AWS_LAMBDA_LOG_FORMAT is JSON, text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    // A bad value fails init here, with the variable's name, before any event is taken.
    let config = Config::from_env()?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(client) = ecs_autopsy::tls::lambda_http_client() {
        loader = loader.http_client(client);
    }
    let sdk = loader.load().await;
    let app = Arc::new(App::new(&sdk, config));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move { handle(&app, event).await }
    }))
    .await
}

async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let deadline_ms = event.context.deadline;
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let budget =
        Duration::from_millis(deadline_ms.saturating_sub(now_ms)).max(Duration::from_secs(1));
    app.invoke(event.payload, budget).await
}
