//! Storm control's state and its decision, apart from the store: the first notifiable stop of a
//! service and cause notifies; the next ones within the window are counted, and the first
//! notification after the window says how many were held back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::diagnose::Cause;
use crate::report::{Record, StormNote};

/// One service's storm windows, one per cause.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StormState {
    #[serde(default)]
    pub(crate) windows: Vec<StormWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StormWindow {
    pub(crate) cause: Cause,
    pub(crate) window_start: DateTime<Utc>,
    pub(crate) suppressed: u32,
    /// The stop that opened the window.
    pub(crate) task_arn: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StormDecision {
    Notify(Option<StormNote>),
    Suppress,
}

impl StormWindow {
    /// A new window opened by `record`'s stop.
    fn open(record: &Record, at: DateTime<Utc>) -> Self {
        Self {
            cause: record.diagnosis.cause,
            window_start: at,
            suppressed: 0,
            task_arn: record.task_arn.clone(),
        }
    }
}

impl StormState {
    /// Decides for `record`'s stop at `at` and updates the state to match.
    pub(crate) fn decide(
        &mut self,
        record: &Record,
        at: DateTime<Utc>,
        window: Duration,
    ) -> StormDecision {
        let cause = record.diagnosis.cause;
        let current = self.windows.iter().position(|w| w.cause == cause);
        match current.map(|i| &mut self.windows[i]) {
            // A retry of the stop that opened the window (its publish failed) still notifies.
            Some(w) if w.task_arn == record.task_arn => StormDecision::Notify(None),
            Some(w) if at >= w.window_start && at - w.window_start < window => {
                w.suppressed += 1;
                StormDecision::Suppress
            }
            Some(w) => {
                let note = (w.suppressed > 0).then_some(StormNote {
                    suppressed: w.suppressed,
                    since: w.window_start,
                });
                *w = StormWindow::open(record, at);
                StormDecision::Notify(note)
            }
            None => {
                self.windows.push(StormWindow::open(record, at));
                StormDecision::Notify(None)
            }
        }
    }
}
