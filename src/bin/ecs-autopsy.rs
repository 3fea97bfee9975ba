//! The operator CLI: parses arguments, runs the library's command, prints.

use std::io::Write;

use clap::Parser;
use ecs_autopsy::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(out) => {
            // `println!` panics when the reader went away (`| head`); a closed pipe is a normal end.
            match writeln!(std::io::stdout().lock(), "{out}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: writing the output: {e}");
                    std::process::ExitCode::from(2)
                }
                _ => std::process::ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: {}", ecs_autopsy::error::chain(&e));
            std::process::ExitCode::from(2)
        }
    }
}
