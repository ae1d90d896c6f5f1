//! What a remote command prints: one [`Render`] value shown either as text
//! for people (tables, a few lines) or as one line of JSON for scripts
//! (`--json`), plus the cell helpers the tables share, and [`safe`], which
//! keeps text from the server from steering the terminal.
//!
//! The command line does not trust the server's texts (a store may hold
//! text from before the input rules, a server may be another one): every
//! text view goes through [`print`], which passes the whole text through
//! [`safe`], and every table cell through [`table`], which also makes each
//! cell one line. JSON is printed as it is: `serde_json` already escapes
//! every control character.

use serde_json::Value;
use std::fmt::Write as _;

/// A command's result in both of its forms, so each command decides what
/// it shows once and `--json` picks the form.
pub(super) trait Render {
    /// For people: a table or a few lines, each ending in a newline.
    fn text(&self) -> String;
    /// For scripts: one JSON value, or `None` when there is nothing to say
    /// beyond the exit status.
    fn json(&self) -> Option<Value>;
}

/// Prints `value` as JSON (one line) or as text.
pub(super) fn print(json: bool, value: &impl Render) {
    if json {
        if let Some(v) = value.json() {
            println!("{v}");
        }
    } else {
        print!("{}", shown(value));
    }
}

/// The text `print` shows of `value`, made [`safe`].
pub(super) fn shown(value: &impl Render) -> String {
    safe(&value.text())
}

/// Whether showing `c` raw could steer the terminal or the order text is
/// shown in: control characters (C0, DEL and C1: ESC starts every escape
/// sequence, BEL ends an OSC title, U+009B is a one-character CSI), the
/// bidi controls (marks, embeddings, overrides, isolates) and the line and
/// paragraph separators, which some terminals treat as line breaks.
fn steers(c: char) -> bool {
    c.is_control()
        || crate::domain::input::is_bidi_control(c)
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every character that could steer the terminal
/// ([`steers`]) written as Rust writes it in a string, `\u{1b}`, so the
/// reader sees that it is there and which it is, and nothing happens to
/// the terminal. Newline and tab are kept: detail views and error
/// messages may have several lines.
pub(crate) fn safe(text: &str) -> String {
    escape(text, |c| matches!(c, '\n' | '\t'))
}

/// [`safe`] for a table cell: newline and tab are escaped too, so a row
/// stays one line and its columns line up.
fn safe_cell(text: &str) -> String {
    escape(text, |_| false)
}

fn escape(text: &str, keep: fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if steers(c) && !keep(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A short confirmation: a sentence for people and an object for scripts.
pub(super) struct Message {
    /// The sentence, without the final newline.
    pub text: String,
    /// What scripts get; `None` prints nothing with `--json`.
    pub json: Option<Value>,
}

impl Render for Message {
    fn text(&self) -> String {
        format!("{}\n", self.text)
    }
    fn json(&self) -> Option<Value> {
        self.json.clone()
    }
}

/// A list shown as a table, or as a JSON array of its items.
pub(super) struct Table<'a, T> {
    items: &'a [T],
    headers: &'a [&'a str],
    row: fn(&T) -> Vec<String>,
    json: fn(&T) -> Value,
    empty: Option<String>,
}

impl<'a, T> Table<'a, T> {
    /// A table of `items` with these column headers; `row` writes the
    /// cells of one item, `json` its JSON form.
    pub(super) fn new(
        items: &'a [T],
        headers: &'a [&'a str],
        row: fn(&T) -> Vec<String>,
        json: fn(&T) -> Value,
    ) -> Self {
        Table {
            items,
            headers,
            row,
            json,
            empty: None,
        }
    }

    /// What people read instead of an empty table (which otherwise shows
    /// its headers alone).
    pub(super) fn or_say(mut self, empty: impl Into<String>) -> Self {
        self.empty = Some(empty.into());
        self
    }
}

impl<T> Render for Table<'_, T> {
    fn text(&self) -> String {
        match &self.empty {
            Some(say) if self.items.is_empty() => format!("{say}\n"),
            _ => table(self.headers, self.items.iter().map(self.row).collect()),
        }
    }
    fn json(&self) -> Option<Value> {
        Some(Value::Array(self.items.iter().map(self.json).collect()))
    }
}

/// Columns padded to their widest cell; every cell made one line and
/// [`safe`] first, so the widths are those shown.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| row.iter().map(|cell| safe_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<String>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(&mut out, row);
    }
    out
}

/// `-` for an empty cell, so columns stay readable.
pub(super) fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.into()
    }
}

/// A text on one line, cut to `max` characters with `…`.
pub(super) fn clip(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let t = table(
            &["ID", "NAME"],
            vec![
                vec!["q1".into(), "a".into()],
                vec!["q100".into(), "b".into()],
            ],
        );
        assert_eq!(t, "ID    NAME\nq1    a\nq100  b\n");
    }

    const TITLE: &str = "\u{1b}]0;pwned\u{7}";
    const CLEAR: &str = "\u{1b}[2J";
    const LINK: &str = "\u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\";

    #[test]
    fn escape_sequences_are_shown_as_rust_escapes() {
        assert_eq!(safe(TITLE), "\\u{1b}]0;pwned\\u{7}");
        assert_eq!(safe(CLEAR), "\\u{1b}[2J");
        assert_eq!(
            safe(LINK),
            "\\u{1b}]8;;http://evil\\u{1b}\\click\\u{1b}]8;;\\u{1b}\\"
        );
    }

    #[test]
    fn c1_and_bidi_controls_are_escaped_and_lines_kept_in_detail_views() {
        assert_eq!(
            safe("a\u{9b}2J\u{85}b\u{202e}c\u{2066}d\u{200f}e\u{2028}f"),
            "a\\u{9b}2J\\u{85}b\\u{202e}c\\u{2066}d\\u{200f}e\\u{2028}f"
        );
        assert_eq!(safe("regel 1\n\tregel 2\r"), "regel 1\n\tregel 2\\u{d}");
        assert_eq!(
            safe("Gemeente Zwolle — één 👩\u{200d}💻"),
            "Gemeente Zwolle — één 👩\u{200d}💻"
        );
    }

    #[test]
    fn table_cells_are_one_line_and_padded_to_what_is_shown() {
        let t = table(
            &["ID", "NAME"],
            vec![
                vec![format!("q1{CLEAR}"), "a\nb\tc".into()],
                vec!["q100".into(), "d".into()],
            ],
        );
        assert_eq!(
            t,
            "ID           NAME\nq1\\u{1b}[2J  a\\u{a}b\\u{9}c\nq100         d\n"
        );
    }

    #[test]
    fn nothing_that_steers_the_terminal_survives_safe() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let shown = safe(&all);
        assert!(!shown.chars().any(|c| steers(c) && c != '\n' && c != '\t'));
        assert!(!safe_cell(&all).chars().any(steers));
    }
}
