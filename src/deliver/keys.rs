//! Where an incident lives in the archive. Keys are Hive-style partitions, so Athena can prune
//! them: `<prefix>cluster=<cluster>/service=<service|none>/date=<YYYY-MM-DD>/<task-id>.json`
//! and `.html` beside it, both named from the event alone. Storm state lives under
//! `<prefix>_state/` (Athena skips `_` paths), one object per account, cluster and service.

use chrono::{DateTime, Utc};

use crate::event::TaskStateChange;
use crate::report::Record;

/// Where one incident lives in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub record: String,
    pub html: String,
}

/// The archive's key layout under its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub prefix: String,
}

/// Keeps S3 key segments to safe characters: ECS names are `[A-Za-z0-9_-]`, but nothing is
/// trusted.
pub fn key_segment(s: &str) -> String {
    let mut cleaned = String::with_capacity(s.len().min(255));
    let mut previous = ' ';
    for c in s.chars().take(255) {
        // No ".." anywhere: some tools treat it as a path step even in flat S3 keys.
        let keep =
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_') || (c == '.' && previous != '.');
        let c = if keep { c } else { '_' };
        cleaned.push(c);
        previous = c;
    }
    match cleaned.as_str() {
        "" => "_".to_owned(),
        "." => "_".to_owned(),
        _ => cleaned,
    }
}

impl Layout {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    fn keys(
        &self,
        cluster: &str,
        service: Option<&str>,
        date: Option<DateTime<Utc>>,
        task_id: &str,
    ) -> Keys {
        let base = format!(
            "{}cluster={}/service={}/date={}/{}",
            self.prefix,
            key_segment(cluster),
            key_segment(service.unwrap_or("none")),
            date.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
                .format("%Y-%m-%d"),
            key_segment(task_id)
        );
        Keys {
            record: format!("{base}.json"),
            html: format!("{base}.html"),
        }
    }

    /// The incident's keys, from the event alone (the same as its record's).
    pub fn keys_for(&self, event: &TaskStateChange) -> Keys {
        self.keys(
            event.cluster_name(),
            event.service_name(),
            event.stopped_at(),
            event.task_id(),
        )
    }

    /// The key a record is archived under.
    pub fn record_key(&self, record: &Record) -> String {
        self.keys(
            &record.cluster,
            record.service.as_deref(),
            record.stopped_at,
            &record.task_id,
        )
        .record
    }

    /// One storm state per account, cluster and service (or task family), holding a window per
    /// cause, so it can be read before the cause is known.
    pub fn storm_key(&self, event: &TaskStateChange) -> String {
        let scope = event
            .service_name()
            .map(str::to_owned)
            .or_else(|| event.family().map(|f| format!("family-{f}")))
            .unwrap_or_else(|| "none".to_owned());
        // Scoped by account too: two accounts' "prod/web" are two services. State written before
        // the account was part of the key is simply not found again: it lives one storm window,
        // so an upgrade costs at most one extra notification per service and cause.
        format!(
            "{}_state/storms/account={}/cluster={}/scope={}.json",
            self.prefix,
            key_segment(event.account.as_deref().unwrap_or("unknown")),
            key_segment(event.cluster_name()),
            key_segment(&scope),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::key_segment;

    #[test]
    fn key_segments_are_safe() {
        assert_eq!(key_segment("prod-eu_1"), "prod-eu_1");
        assert_eq!(key_segment("a/b c"), "a_b_c");
        assert_eq!(key_segment(".."), "._");
        assert_eq!(key_segment("a...b"), "a._.b");
        assert_eq!(key_segment(""), "_");
        assert_eq!(key_segment(&"x".repeat(400)).len(), 255);
        assert_eq!(key_segment("café"), "caf_");
    }
}
