//! Running out of disk: ENOSPC in the logs ("No space left on device"), or Container Insights'
//! EphemeralStorageUtilized reaching EphemeralStorageReserved on Fargate. The container exits on
//! its own, so the cause is `app_crashed`; the advice is about where the bytes go.

use crate::event::Container;
use crate::evidence::Source;

use super::claims::{Basis, Claim, Claims, EPHEMERAL_DEFAULT_GIB, EPHEMERAL_MAX_GIB, SeriesRef};
use super::context::Context;
use super::lasterror;
use super::memory::NEAR_LIMIT_PCT;
use super::{Cause, Finding, Verdict};

/// Ephemeral storage used at or above this share of the reservation counts as full.
pub const FULL_PCT: f64 = NEAR_LIMIT_PCT;

fn is_disk_full_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.contains("no space left on device")
        || lasterror::errno(line) == Some("ENOSPC")
        || lower.contains("disk quota exceeded")
}

/// Peak ephemeral storage used and its reservation, when Container Insights reported both.
fn ephemeral_peak(ctx: &Context<'_>) -> Option<(f64, f64)> {
    let m = ctx.evidence.metrics.as_ref()?;
    let used = m.ephemeral_storage_utilized_gb.as_ref()?;
    let reserved = m.ephemeral_storage_reserved_gb.as_ref()?;
    let stop = ctx.stop_at?;
    let from = ctx
        .event
        .detail
        .started_at
        .unwrap_or(stop - chrono::Duration::hours(6));
    let peak = used.max_between(from, stop + chrono::Duration::minutes(1))?;
    let size = reserved
        .max_between(from, stop + chrono::Duration::minutes(1))
        .filter(|r| *r > 0.0)?;
    Some((peak, size))
}

/// The container ran out of disk: its log says so, or the task's ephemeral storage was full.
pub fn disk_full(ctx: &Context<'_>, container: &Container) -> Option<Verdict> {
    let lines: Vec<&str> = ctx
        .evidence
        .logs
        .iter()
        .flatten()
        .filter(|l| l.container == container.name)
        .flat_map(|l| l.lines.iter().map(|x| x.message.as_str()))
        .collect();
    let line = lines.iter().rev().find(|l| is_disk_full_line(l)).copied();
    let storage = ephemeral_peak(ctx);
    let full = storage.filter(|(peak, size)| peak / size * 100.0 >= FULL_PCT);
    if line.is_none() && full.is_none() {
        return None;
    }
    let name = container.name.as_str();
    let mut c = Claims::default();
    let code = container
        .exit_code
        .map(|e| format!(" (exit {e})"))
        .unwrap_or_default();
    let what = match (line, storage) {
        (Some(l), _) => format!(": \"{}\"", l.trim().chars().take(200).collect::<String>()),
        (None, Some((peak, size))) => format!(
            ": ephemeral storage reached {}",
            c.say(Claim::share(
                peak / size * 100.0,
                Basis::EphemeralStorage,
                Some(size),
                SeriesRef::EphemeralStorageUtilized
            ))
        ),
        (None, None) => String::new(),
    };
    let mut v = Verdict::new(
        Cause::AppCrashed,
        if line.is_some() { 0.9 } else { 0.8 },
        format!("Container {name} crashed{code} because the disk it writes to was full{what}."),
    )
    .key_fact("disk full (ENOSPC)")
    .container(name, container.exit_code)
    .relies_on(&[Source::Logs, Source::Metrics]);
    if let Some(l) = line {
        v = v.finding(Finding::supports(
            "disk full in the log",
            format!("\"{}\"", l.trim().chars().take(200).collect::<String>()),
        ));
    }
    if let Some((peak, size)) = storage {
        let mut fc = Claims::default();
        let share = fc.say(Claim::share(
            peak / size * 100.0,
            Basis::EphemeralStorage,
            Some(size),
            SeriesRef::EphemeralStorageUtilized,
        ));
        let f = format!("EphemeralStorageUtilized peaked at {share}");
        v = v.finding(if full.is_some() {
            Finding::supports("ephemeral storage", f).with_claims(fc)
        } else {
            Finding::context("ephemeral storage", f).with_claims(fc)
        });
    }
    if ctx.event.is_fargate() {
        let now = match storage {
            Some((_, size)) => format!(
                " beyond the {} reserved now",
                c.say(Claim::bare_size(Basis::EphemeralStorage, size))
            ),
            None => format!(
                " beyond Fargate's default of {}",
                c.say(Claim::policy(
                    format!("{EPHEMERAL_DEFAULT_GIB:.0} GiB"),
                    EPHEMERAL_DEFAULT_GIB,
                    "ephemeral storage default"
                ))
            ),
        };
        let max = c.say(Claim::policy(
            format!("{EPHEMERAL_MAX_GIB:.0} GiB"),
            EPHEMERAL_MAX_GIB,
            "ephemeral storage maximum",
        ));
        v = v.recommend(format!(
            "If the data is legitimate, raise the task definition's ephemeralStorage.sizeInGiB{now} (up to {max}); the image itself is stored there too"
        ));
    } else {
        v = v.recommend(
            "On EC2 the container writes to the host's Docker storage: grow the instance's data volume, and let the agent clean up sooner (ECS_IMAGE_CLEANUP_INTERVAL, ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION)",
        );
    }
    v = v.recommend(format!(
        "Find what {name} writes: log to stdout/stderr (the log driver ships it) instead of files inside the container, or rotate log files with a size cap"
    ));
    v = v.recommend(
        "Write scratch and export files to a mounted volume (EFS for large or shared data) or stream them to S3, and delete temporary files when done",
    );
    Some(v.claims(c))
}

#[cfg(test)]
mod tests {
    use super::is_disk_full_line;

    #[test]
    fn enospc_and_its_message_are_disk_full() {
        assert!(is_disk_full_line(
            "Error: ENOSPC: no space left on device, write"
        ));
        assert!(is_disk_full_line(
            "OSError: [Errno 28] No space left on device"
        ));
        assert!(!is_disk_full_line(
            "Error: connect ECONNREFUSED 10.0.3.12:5432"
        ));
    }
}
