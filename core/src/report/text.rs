//! Character rules of the channels: ASCII subjects, GSM-7 SMS, and length limits that never cut
//! a character in half.

/// SNS rejects subjects of 100 characters or more.
pub const SUBJECT_MAX: usize = 99;
/// One SMS segment, whatever the encoding SNS picks.
pub const SMS_MAX: usize = 140;

/// Typographic characters the renderers use, spelled in ASCII.
fn ascii_equivalent(c: char) -> Option<&'static str> {
    Some(match c {
        '–' | '—' | '−' => "-",
        '→' => "->",
        '←' => "<-",
        '≥' => ">=",
        '≤' => "<=",
        '×' => "x",
        '…' => "...",
        '²' => "2",
        '‘' | '’' | '′' => "'",
        '“' | '”' | '″' => "\"",
        '·' | '•' => "-",
        '\u{a0}' => " ",
        _ => return None,
    })
}

/// Printable ASCII with whitespace runs (line breaks included) folded to one space.
pub fn to_ascii_line(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut last_space = true;
    for c in input.chars() {
        let piece: Option<&str> = if c.is_whitespace() || c.is_control() {
            Some(" ")
        } else if c.is_ascii() {
            None
        } else {
            Some(ascii_equivalent(c).unwrap_or("?"))
        };
        match piece {
            Some(" ") => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            Some(p) => {
                out.push_str(p);
                last_space = false;
            }
            None => {
                out.push(c);
                last_space = false;
            }
        }
    }
    out.trim().to_owned()
}

/// Whether a character is in the GSM 03.38 basic set *and* ASCII, so it costs one septet and
/// no carrier rewrites it. The extension table (`[]{}\^~|`) costs two and is avoided.
pub fn is_gsm7_safe(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            ' ' | '@'
                | '$'
                | '_'
                | '!'
                | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
        )
}

/// GSM-7-safe text on one line: brackets become parentheses, the rest becomes ASCII or goes.
pub fn to_gsm7_line(input: &str) -> String {
    to_ascii_line(input)
        .chars()
        .filter_map(|c| match c {
            '[' | '{' => Some('('),
            ']' | '}' => Some(')'),
            '|' | '\\' | '~' | '^' | '`' => Some('-'),
            c if is_gsm7_safe(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// Cuts `text` to at most `max` characters, ending with `...` when it had to cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max <= 3 {
        return text.chars().take(max).collect();
    }
    let mut cut: String = text.chars().take(max - 3).collect();
    while cut.ends_with(' ') {
        cut.pop();
    }
    cut.push_str("...");
    cut
}

/// Cuts a UTF-8 string to at most `max_bytes` bytes on a character boundary.
pub fn truncate_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_line_folds_breaks_and_spells_typography() {
        assert_eq!(
            to_ascii_line("CPU 99–100%\r\nof 512 → 1024 ≥ ok\t"),
            "CPU 99-100% of 512 -> 1024 >= ok"
        );
        assert_eq!(to_ascii_line("naïve 日本"), "na?ve ??");
    }

    #[test]
    fn gsm7_line_keeps_only_single_septet_ascii() {
        let s = to_gsm7_line("[502] {x} a|b ~ é `q` €");
        assert!(s.chars().all(is_gsm7_safe), "{s}");
        assert_eq!(s, "(502) (x) a-b - ? -q- ?");
    }

    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate_chars("abcdefgh", 6), "abc...");
        assert_eq!(truncate_chars("abc", 6), "abc");
        assert_eq!(truncate_bytes("aé", 2), "a");
    }
}
