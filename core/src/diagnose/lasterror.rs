//! Which line of a log tail is "the last error": the line an engineer would quote, not the stack
//! frame under it nor the wrapper's epilogue after it.
//!
//! From the end of the tail, stack frames ("    at …", "  File \"…\"", "goroutine 1 [running]:",
//! "main.go:42 +0x1d") and launcher epilogues ("npm ERR!", "exited with code") are skipped; of the
//! error lines left, the last one wins, except that a line naming an errno (ENOSPC,
//! ECONNREFUSED…) or opening an exception ("java.lang.OutOfMemoryError: …", "panic: …") within
//! the same block beats a vaguer line after it.

/// Words that make a line an error line (lowercase).
const ERROR_WORDS: [&str; 12] = [
    "error",
    "exception",
    "panic",
    "fatal",
    "traceback",
    "segmentation",
    "killed",
    "refused",
    "cannot",
    "failed",
    "no space left",
    "denied",
];

/// How many non-frame lines above the last error line may still hold its headline.
const BLOCK: usize = 4;

/// The last error line of `lines` (oldest first), trimmed.
pub fn last_error_line<'a>(lines: &[&'a str]) -> Option<&'a str> {
    let candidates: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !is_frame(l) && !is_epilogue(l) && !l.trim().is_empty())
        .map(|(i, l)| (i, *l))
        .collect();
    let last_pos = candidates.iter().rposition(|(_, l)| is_error(l))?;
    let (_, last) = candidates[last_pos];
    if is_headline(last) {
        return Some(last.trim());
    }
    // A vaguer line ("Error: write failed", "Unhandled rejection") may follow its headline.
    let from = last_pos.saturating_sub(BLOCK);
    candidates[from..last_pos]
        .iter()
        .rev()
        .find(|(_, l)| is_headline(l))
        .map(|(_, l)| l.trim())
        .or(Some(last.trim()))
}

fn is_error(line: &str) -> bool {
    let lower = line.to_lowercase();
    ERROR_WORDS.iter().any(|w| lower.contains(w)) || errno(line).is_some()
}

/// An errno name (ENOSPC, ECONNREFUSED, EACCES…) or an exception header.
fn is_headline(line: &str) -> bool {
    errno(line).is_some() || exception_header(line)
}

/// The first errno-like word: E followed by 3–14 capitals, as libc and Node name them.
pub fn errno(line: &str) -> Option<&str> {
    line.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| {
        w.len() >= 4
            && w.len() <= 15
            && w.starts_with('E')
            && w.chars().all(|c| c.is_ascii_uppercase())
            && KNOWN_ERRNOS.contains(w)
    })
}

const KNOWN_ERRNOS: [&str; 16] = [
    "ENOSPC",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EACCES",
    "EPERM",
    "ENOENT",
    "ENOMEM",
    "EMFILE",
    "ENFILE",
    "EADDRINUSE",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ENOTFOUND",
    "EROFS",
    "EDQUOT",
];

/// "java.lang.OutOfMemoryError: Java heap space", "panic: …", "fatal error: …",
/// "OSError: [Errno 28] …", "Exception in thread \"main\" …", "FATAL ERROR: …".
fn exception_header(line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_lowercase();
    if lower.starts_with("panic:")
        || lower.starts_with("fatal error:")
        || lower.starts_with("exception in thread")
        || lower.starts_with("unhandled exception")
        || lower.contains("[errno ")
    {
        return true;
    }
    // A dotted or plain type name ending in Error/Exception, then a colon.
    let head = t.split(':').next().unwrap_or("");
    !head.is_empty()
        && !head.contains(' ')
        && t.len() > head.len()
        && (head.ends_with("Error") || head.ends_with("Exception"))
}

/// Stack frames of the JVM, Node, Python, Go, .NET and Ruby.
fn is_frame(line: &str) -> bool {
    let indented = line.starts_with(' ') || line.starts_with('\t');
    let t = line.trim_start();
    if t.starts_with("at ") && indented {
        return true;
    }
    if t.starts_with("File \"") || t.starts_with("... ") && t.ends_with("more") {
        return true;
    }
    if t.starts_with("goroutine ") && t.ends_with(':') {
        return true;
    }
    // Go: "\t/app/main.go:42 +0x1d"; Ruby: "from /app/x.rb:3:in `y'".
    if indented && (t.contains(".go:") || t.starts_with("from ")) {
        return true;
    }
    // Python's source echo under a frame: indented, no error word of its own.
    indented && !is_error_words_only(t)
}

fn is_error_words_only(t: &str) -> bool {
    let lower = t.to_lowercase();
    ERROR_WORDS.iter().any(|w| lower.contains(w)) || errno(t).is_some()
}

/// Lines a launcher prints after the app's own error.
fn is_epilogue(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    lower.starts_with("npm err!")
        || lower.starts_with("npm error")
        || lower.contains("exited with code")
        || lower.starts_with("error: command failed with exit code")
        || lower.starts_with("error: script")
}

#[cfg(test)]
mod tests {
    use super::last_error_line;

    #[test]
    fn errno_line_wins_over_the_stack_frame_under_it() {
        let tail = [
            "writing export chunk 412",
            "Error: ENOSPC: no space left on device, write",
            "    at Object.writeSync (node:fs:927:3)",
            "    at WriteStream.onerror (/app/export.js:88:11)",
        ];
        assert_eq!(
            last_error_line(&tail),
            Some("Error: ENOSPC: no space left on device, write")
        );
    }

    #[test]
    fn java_exception_header_is_chosen_not_its_frames() {
        let tail = [
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
            "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
            "\tat com.example.Export.run(Export.java:57)",
        ];
        assert_eq!(
            last_error_line(&tail),
            Some("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space")
        );
    }

    #[test]
    fn python_traceback_ends_with_the_error_itself() {
        let tail = [
            "Traceback (most recent call last):",
            "  File \"/app/worker.py\", line 12, in <module>",
            "    f.write(chunk)",
            "OSError: [Errno 28] No space left on device",
        ];
        assert_eq!(
            last_error_line(&tail),
            Some("OSError: [Errno 28] No space left on device")
        );
    }

    #[test]
    fn npm_epilogue_does_not_hide_the_real_error() {
        let tail = [
            "Error: connect ECONNREFUSED 10.0.3.12:5432",
            "npm ERR! code ELIFECYCLE",
            "npm ERR! errno 1",
        ];
        assert_eq!(
            last_error_line(&tail),
            Some("Error: connect ECONNREFUSED 10.0.3.12:5432")
        );
    }

    #[test]
    fn a_vague_line_after_its_headline_yields_to_the_headline() {
        let tail = [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b6c]",
            "goroutine 1 [running]:",
            "\t/app/main.go:42 +0x1d",
        ];
        assert_eq!(
            last_error_line(&tail),
            Some("panic: runtime error: invalid memory address or nil pointer dereference")
        );
    }

    #[test]
    fn no_error_line_means_none() {
        let tail = ["listening on :8080", "GET /health 200 2ms"];
        assert_eq!(last_error_line(&tail), None);
    }
}
