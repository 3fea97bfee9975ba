//! Scrubs obvious secrets from log lines before they are stored or sent: AWS keys, bearer and
//! basic tokens, passwords in URLs, `password=`-style pairs, JWTs and private key blocks.

use std::sync::LazyLock;

use regex::Regex;

const MASK: &str = "[REDACTED]";

struct Rule {
    re: Regex,
    replacement: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rules: [(&str, &'static str); 7] = [
        // Private key blocks, on one line or cut at the line's end.
        (
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z ]*PRIVATE KEY-----|$)",
            "[REDACTED PRIVATE KEY]",
        ),
        // AWS access key ids.
        (r"\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b", MASK),
        // user:password@ in URLs.
        (
            r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@",
            "$1:[REDACTED]@",
        ),
        // Authorization headers and bearer tokens.
        (
            r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}",
            "$1 [REDACTED]",
        ),
        // JSON Web Tokens.
        (
            r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
            MASK,
        ),
        // key=value and "key": "value" pairs whose key names a secret.
        (
            r#"(?i)\b([a-z0-9_.-]*(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[a-z0-9_.-]*)("?\s*[=:]\s*"?)[^\s"',;&]+"#,
            "$1$3[REDACTED]",
        ),
        // 40-character AWS secret access keys next to a telling word.
        (r"(?i)(aws.{0,20}?)[A-Za-z0-9/+=]{40}\b", "$1[REDACTED]"),
    ];
    rules
        .into_iter()
        .filter_map(|(pattern, replacement)| match Regex::new(pattern) {
            Ok(re) => Some(Rule { re, replacement }),
            Err(e) => {
                tracing::error!(pattern, error = %e, "scrub pattern does not compile");
                None
            }
        })
        .collect()
});

/// Returns the line with every recognised secret replaced.
pub fn scrub(line: &str) -> String {
    let mut out = line.to_owned();
    for rule in RULES.iter() {
        if rule.re.is_match(&out) {
            out = rule.re.replace_all(&out, rule.replacement).into_owned();
        }
    }
    out
}

/// Longest log line kept, in bytes. CloudWatch allows events of up to 256 KB; a container that
/// logs whole request bodies would otherwise put megabytes into every record and report.
pub const LOG_LINE_MAX_BYTES: usize = 4096;

/// A log line as it is stored: scrubbed first (so a cut never splits a secret into a shape the
/// rules miss), then cut to [`LOG_LINE_MAX_BYTES`] at a character boundary, saying how much went.
pub fn log_line(raw: &str) -> String {
    let mut line = scrub(raw);
    if line.len() > LOG_LINE_MAX_BYTES {
        let mut end = LOG_LINE_MAX_BYTES;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let cut = line.len() - end;
        line.truncate(end);
        line.push_str(&format!(" …[{cut} bytes cut]"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::{LOG_LINE_MAX_BYTES, log_line, scrub};

    #[test]
    fn a_huge_log_line_is_scrubbed_then_cut_at_a_character_boundary() {
        let raw = format!("password=hunter2 {}", "é".repeat(200_000));
        let line = log_line(&raw);
        assert!(!line.contains("hunter2"));
        assert!(line.len() <= LOG_LINE_MAX_BYTES + 32, "{}", line.len());
        assert!(line.ends_with("bytes cut]"), "{}", &line[line.len() - 40..]);
    }

    #[test]
    fn a_short_log_line_is_only_scrubbed() {
        assert_eq!(log_line("GET /healthz 200"), "GET /healthz 200");
    }

    #[test]
    fn planted_secrets_are_removed() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
            (
                "GET / Authorization: Bearer abc.def-ghi_jkl123",
                "abc.def-ghi_jkl123",
            ),
            (
                "connecting to postgres://judge:hunter2pass@db:5432/app",
                "hunter2pass",
            ),
            ("DB_PASSWORD=s3cr3t-value starting", "s3cr3t-value"),
            (r#"{"api_key": "k-123456789"}"#, "k-123456789"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEA7",
                "MIIEowIBAAKCAQEA7",
            ),
            (
                "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk",
                "eyJzdWIiOiIxIn0",
            ),
        ];
        for (line, secret) in cases {
            let clean = scrub(line);
            assert!(!clean.contains(secret), "{line:?} -> {clean:?}");
            assert!(clean.contains("REDACTED"), "{clean}");
        }
    }

    #[test]
    fn secrets_beside_non_ascii_text_are_removed() {
        for (line, secret) in [
            ("café DB_PASSWORD=s3cr3t-value démarré", "s3cr3t-value"),
            ("clé AKIAIOSFODNN7EXAMPLE utilisée", "AKIAIOSFODNN7EXAMPLE"),
            (
                "→ Authorization: Bearer abc.def-ghi_jkl123 ←",
                "abc.def-ghi_jkl123",
            ),
        ] {
            let clean = scrub(line);
            assert!(!clean.contains(secret), "{line:?} -> {clean:?}");
        }
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        for line in [
            "GET /health 200 3120ms",
            "Error: connect ECONNREFUSED 10.0.3.12:5432",
            "token bucket refilled",
        ] {
            assert_eq!(scrub(line), line);
        }
    }
}
