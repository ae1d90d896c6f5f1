//! What a remote command prints: one [`Render`] value shown either as text
//! for people (tables, a few lines) or as one line of JSON for scripts
//! (`--json`), plus the cell helpers the tables share.

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
        print!("{}", value.text());
    }
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

/// Columns padded to their widest cell.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
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
}
