//! Any bytes as an EventBridge payload: an event, an ignore, or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ecs_autopsy_core::parse_event(text);
    }
});
