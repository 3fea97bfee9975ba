//! The Lambda function. Not wired yet: gathering, publishing and archiving come next; until then
//! use `ecs-autopsy explain` to diagnose events offline.

fn main() -> std::process::ExitCode {
    eprintln!(
        "autopsy-lambda is not wired to the Lambda runtime yet; use `ecs-autopsy explain --event FILE` to diagnose an event offline"
    );
    std::process::ExitCode::from(1)
}
