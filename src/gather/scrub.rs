//! Scrubs obvious secrets from log lines before they are stored or sent: AWS keys, bearer and
//! basic tokens, passwords in URLs, `password=`-style pairs, JWTs and private key blocks.

use std::sync::{LazyLock, OnceLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

const MASK: &str = "[REDACTED]";

/// A secret's shape, its replacement, and the literals one of which every match contains.
struct Rule {
    pattern: &'static str,
    replacement: &'static str,
    /// Necessary, matched ASCII-case-insensitively: a line without any of them cannot match, so
    /// the regex is neither compiled nor run for it. (Keyword groups are `(?i-u:…)` so that no
    /// Unicode case fold can match without the literal.)
    needs: &'static [&'static str],
    re: OnceLock<Option<Regex>>,
}

impl Rule {
    const fn new(
        pattern: &'static str,
        replacement: &'static str,
        needs: &'static [&'static str],
    ) -> Self {
        Self {
            pattern,
            replacement,
            needs,
            re: OnceLock::new(),
        }
    }

    /// Compiled on first need: the seven regexes cost ~12 M instructions to compile, a third of
    /// a cold incident, and most processes only ever meet lines that need one or two of them.
    fn regex(&self) -> Option<&Regex> {
        self.re
            .get_or_init(|| match Regex::new(self.pattern) {
                Ok(re) => Some(re),
                Err(e) => {
                    tracing::error!(pattern = self.pattern, error = %e, "scrub pattern does not compile");
                    None
                }
            })
            .as_ref()
    }
}

static RULES: [Rule; 7] = [
    // Private key blocks, on one line or cut at the line's end.
    Rule::new(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z ]*PRIVATE KEY-----|$)",
        "[REDACTED PRIVATE KEY]",
        &["-----BEGIN "],
    ),
    // AWS access key ids.
    Rule::new(
        r"\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b",
        MASK,
        &["AKIA", "ASIA", "AROA", "AIDA"],
    ),
    // user:password@ in URLs.
    Rule::new(
        r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@",
        "$1:[REDACTED]@",
        &["://"],
    ),
    // Authorization headers and bearer tokens.
    Rule::new(
        r"\b((?i-u:bearer|basic|token))\s+[A-Za-z0-9._~+/=-]{8,}",
        "$1 [REDACTED]",
        &["bearer", "basic", "token"],
    ),
    // JSON Web Tokens.
    Rule::new(
        r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
        MASK,
        &["eyJ"],
    ),
    // key=value and "key": "value" pairs whose key names a secret.
    Rule::new(
        r#"(?i)\b([a-z0-9_.-]*((?i-u:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential))[a-z0-9_.-]*)("?\s*[=:]\s*"?)[^\s"',;&]+"#,
        "$1$3[REDACTED]",
        &[
            "password",
            "passwd",
            "pwd",
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "accesskey",
            "access_key",
            "access-key",
            "credential",
        ],
    ),
    // 40-character AWS secret access keys next to a telling word.
    Rule::new(
        r"((?i-u:aws).{0,20}?)[A-Za-z0-9/+=]{40}\b",
        "$1[REDACTED]",
        &["aws"],
    ),
];

/// One automaton over every rule's literals, and for each literal the rules (a bit each) that
/// need it.
struct Triggers {
    literals: AhoCorasick,
    rules: Vec<u8>,
}

static TRIGGERS: LazyLock<Option<Triggers>> = LazyLock::new(|| {
    let mut literals: Vec<&str> = Vec::new();
    let mut rules: Vec<u8> = Vec::new();
    for (i, rule) in RULES.iter().enumerate() {
        for needed in rule.needs {
            match literals.iter().position(|l| l.eq_ignore_ascii_case(needed)) {
                Some(at) => rules[at] |= 1 << i,
                None => {
                    literals.push(needed);
                    rules.push(1 << i);
                }
            }
        }
    }
    match AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&literals)
    {
        Ok(literals) => Some(Triggers { literals, rules }),
        Err(e) => {
            // Then every rule runs on every line: slower, never weaker.
            tracing::error!(error = %e, "scrub literals do not compile");
            None
        }
    }
});

/// The rules (a bit each) whose literals occur in `text`.
fn candidates(text: &str) -> u8 {
    let Some(t) = TRIGGERS.as_ref() else {
        return u8::MAX;
    };
    t.literals
        .find_overlapping_iter(text)
        .fold(0, |bits, m| bits | t.rules[m.pattern().as_usize()])
}

/// Returns the line with every recognised secret replaced.
pub fn scrub(line: &str) -> String {
    let mut bits = candidates(line);
    let mut out = line.to_owned();
    // In order, each rule on the previous one's output, exactly as if every rule ran on every
    // line: a rule is skipped only when none of its literals is in the text it would see.
    for (i, rule) in RULES.iter().enumerate() {
        if bits & (1 << i) == 0 {
            continue;
        }
        let Some(re) = rule.regex() else { continue };
        if re.is_match(&out) {
            out = re.replace_all(&out, rule.replacement).into_owned();
            bits = candidates(&out);
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
    use super::{LOG_LINE_MAX_BYTES, RULES, log_line, scrub};

    static REFERENCE: std::sync::LazyLock<Vec<regex::Regex>> = std::sync::LazyLock::new(|| {
        RULES
            .iter()
            .map(|r| regex::Regex::new(r.pattern).expect("compiles"))
            .collect()
    });

    /// Every rule on every line, in order, without the literals: what `scrub` must equal.
    fn every_rule(line: &str) -> String {
        let mut out = line.to_owned();
        for (re, rule) in REFERENCE.iter().zip(&RULES) {
            out = re.replace_all(&out, rule.replacement).into_owned();
        }
        out
    }

    #[test]
    fn every_rule_compiles_and_names_its_literals() {
        for rule in &RULES {
            assert!(rule.regex().is_some(), "{}", rule.pattern);
            assert!(!rule.needs.is_empty(), "{}", rule.pattern);
        }
    }

    proptest::proptest! {
        #[test]
        fn skipping_rules_by_their_literals_changes_nothing(
            line in "(password|PassWd|pwd|SECRET|Token|api_key|Access-Key|credential|Bearer |basic |AKIA|ASIA|eyJ|AWS|aws_secret |://|user:pw@|-----BEGIN RSA PRIVATE KEY-----|[a-zA-Z0-9=:/+._\"-]{1,12}| |é|\u{212A}|\u{17F}){0,24}"
        ) {
            proptest::prop_assert_eq!(scrub(&line), every_rule(&line));
        }
    }

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
