//! Reads a configuration a user wrote by hand, so `amdb tune compare --config FILE` can
//! measure it against the default and PGTune's.
//!
//! Two spellings are accepted, one setting per line, so both a `postgresql.conf` excerpt and
//! the `recommendation.sql` that `amdb tune postgres` writes can be fed back:
//!
//! ```text
//! # postgresql.conf style; '#' starts a comment
//! work_mem = 16MB
//! checkpoint_timeout '15min'
//! -- SQL style; '--' starts a comment
//! ALTER SYSTEM SET commit_delay = '1000';
//! ALTER SYSTEM SET wal_compression TO lz4;
//! SELECT pg_reload_conf();
//! ```
//!
//! `SELECT pg_reload_conf();` lines are ignored. Values are kept as text: only the target's
//! knob catalog knows their units and ranges.

/// One `name = value` setting and the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line: usize,
    pub name: String,
    pub value: String,
}

/// What is wrong with a settings file, and on which 1-based line (none when the whole file
/// is wrong, e.g. empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

impl ParseError {
    /// `PATH:LINE: message`, the way compilers name a place in a file.
    pub fn at(&self, path: &std::path::Path) -> String {
        match self.line {
            Some(line) => format!("{}:{line}: {}", path.display(), self.message),
            None => format!("{}: {}", path.display(), self.message),
        }
    }
}

/// Parses `text`; an error names the 1-based line and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Line>, ParseError> {
    let mut out: Vec<Line> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let s = strip_comment(raw).trim();
        if s.is_empty() || is_reload(s) {
            continue;
        }
        let (name, value) = setting(s).map_err(|message| ParseError {
            line: Some(line),
            message,
        })?;
        if let Some(prev) = out.iter().find(|l| l.name == name) {
            return Err(ParseError {
                line: Some(line),
                message: format!("{name} is already set on line {}", prev.line),
            });
        }
        out.push(Line { line, name, value });
    }
    if out.is_empty() {
        return Err(ParseError {
            line: None,
            message: "no settings (expected lines like `work_mem = 16MB`)".into(),
        });
    }
    Ok(out)
}

/// `s` without a trailing `#` or `--` comment; quotes protect both.
fn strip_comment(s: &str) -> &str {
    let mut quoted = false;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'#' if !quoted => return &s[..i],
            b'-' if !quoted && bytes.get(i + 1) == Some(&b'-') => return &s[..i],
            _ => {}
        }
    }
    s
}

fn is_reload(s: &str) -> bool {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    compact == "selectpg_reload_conf();" || compact == "selectpg_reload_conf()"
}

/// `(name, value)` of one non-empty, comment-free line.
fn setting(s: &str) -> Result<(String, String), String> {
    let mut rest = s.trim_end_matches(';').trim();
    let words: Vec<&str> = rest.splitn(4, char::is_whitespace).collect();
    if words.len() >= 3
        && words[0].eq_ignore_ascii_case("alter")
        && words[1].eq_ignore_ascii_case("system")
        && words[2].eq_ignore_ascii_case("set")
    {
        rest = words.get(3).copied().unwrap_or("").trim();
    } else if words[0].eq_ignore_ascii_case("alter") {
        return Err(format!(
            "{s:?}: only ALTER SYSTEM SET name = value is understood"
        ));
    }
    let name_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let (name, tail) = rest.split_at(name_end);
    if name.is_empty() {
        return Err(format!("{s:?}: expected a setting name"));
    }
    let tail = tail.trim_start();
    let value = if let Some(v) = tail.strip_prefix('=') {
        v
    } else if tail.len() >= 2 && tail[..2].eq_ignore_ascii_case("to") {
        &tail[2..]
    } else {
        tail
    }
    .trim();
    let value = match value.strip_prefix('\'') {
        Some(inner) => inner
            .strip_suffix('\'')
            .ok_or_else(|| format!("{s:?}: unterminated quote"))?,
        None => value,
    };
    if value.is_empty() {
        return Err(format!("{name}: no value"));
    }
    if value.contains(char::is_whitespace) && !s.contains('\'') {
        return Err(format!("{name}: {value:?} is not one value (quote it)"));
    }
    Ok((name.to_ascii_lowercase(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect()
    }

    #[test]
    fn reads_conf_and_sql_spellings() {
        let text = "\
# hand-tuned
work_mem = 16MB   # per sort
checkpoint_timeout '15min'
max_wal_size 4GB
-- from a report
ALTER SYSTEM SET commit_delay = '1000';
alter system set wal_compression to lz4;
ALTER SYSTEM SET random_page_cost TO '1.1';
SELECT pg_reload_conf();
";
        assert_eq!(
            pairs(text),
            [
                ("work_mem", "16MB"),
                ("checkpoint_timeout", "15min"),
                ("max_wal_size", "4GB"),
                ("commit_delay", "1000"),
                ("wal_compression", "lz4"),
                ("random_page_cost", "1.1"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
    }

    #[test]
    fn keeps_line_numbers() {
        let lines = parse("\n# c\nwork_mem=4MB\n\nfsync = off\n").unwrap();
        assert_eq!(lines[0].line, 3);
        assert_eq!(lines[1].line, 5);
        assert_eq!(lines[1].value, "off");
    }

    #[test]
    fn quotes_protect_comment_marks() {
        assert_eq!(
            pairs("application_name = 'a#b--c'"),
            [("application_name".to_string(), "a#b--c".to_string())]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = |text: &str| {
            let e = parse(text).unwrap_err();
            e.at(std::path::Path::new("my.conf"))
        };
        assert_eq!(
            err("work_mem = 4MB\nwork_mem = 8MB\n"),
            "my.conf:2: work_mem is already set on line 1"
        );
        assert_eq!(err("work_mem =\n"), "my.conf:1: work_mem: no value");
        assert_eq!(err("a\nb = 'x\n"), "my.conf:1: a: no value");
        assert_eq!(
            err("x = 1\nb = 'x\n"),
            "my.conf:2: \"b = 'x\": unterminated quote"
        );
        assert!(err("work_mem = 4 MB\n").contains("not one value"));
        assert!(err("ALTER TABLE t SET x = 1;\n").contains("only ALTER SYSTEM SET"));
        assert_eq!(
            err("# nothing\n\n"),
            "my.conf: no settings (expected lines like `work_mem = 16MB`)"
        );
    }
}
