//! Tests that no view of the command line lets a text from the server
//! steer the terminal: every view is fed proto messages whose texts hold a
//! title change, a screen clear and a hidden OSC 8 link, and must show
//! them as visible escapes (the CLI does not trust the server, whose store
//! may hold text from before the input rules), while `--json` stays as it
//! was (JSON escapes the C0 controls; it is for programs, not terminals).

use super::directory::experts_table;
use super::questions::{history_table, list_table, similar_table};
use super::render::{shown, Render};
use super::triage::queue_table;
use crate::grpc::proto;

const TITLE: &str = "\u{1b}]0;pwned\u{7}";
const CLEAR: &str = "\u{1b}[2J";
const LINK: &str = "\u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\";

/// A text holding all three attacks, a C1 CSI and a bidi override.
fn evil(label: &str) -> String {
    format!("{label}{TITLE}{CLEAR}{LINK} \u{9b}2J \u{202e}{label}")
}

/// Asserts that `out` has no character that steers the terminal (newline
/// and tab excepted) and shows the escapes instead.
fn assert_neutralised(view: &str, out: &str) {
    let raw = out.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
    });
    assert_eq!(raw, None, "{view} prints a raw control character: {out:?}");
    for visible in [
        r"\u{1b}]0;pwned\u{7}",
        r"\u{1b}[2J",
        r"\u{1b}]8;;http://evil",
        r"\u{9b}",
        r"\u{202e}",
    ] {
        assert!(out.contains(visible), "{view} hides {visible}: {out}");
    }
}

/// Asserts a table keeps one line per row (headers included).
fn assert_rows(view: &str, out: &str, rows: usize) {
    assert_eq!(out.lines().count(), rows + 1, "{view}: {out}");
}

fn question() -> proto::Question {
    proto::Question {
        id: "q1".into(),
        text: evil("Hoe?\nRegel twee"),
        organization_name: evil("Gemeente"),
        region: evil("Overijssel"),
        portal: evil("portal"),
        triage_reason: evil("reason"),
        status: proto::Status::Triage as i32,
        classification: Some(proto::Classification {
            themes: vec![proto::ThemeScore {
                id: evil("waste"),
                ..Default::default()
            }],
            providers: vec![proto::RankedMatch {
                id: evil("vng"),
                name: evil("VNG"),
                ..Default::default()
            }],
            ..Default::default()
        }),
        answer: Some(proto::Answer {
            text: evil("Zo."),
            sources: vec![evil("https://example.nl")],
            ..Default::default()
        }),
        similar: vec![proto::SimilarQuestion {
            id: "q0".into(),
            text: evil("Eerder"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn get_shows_escape_sequences_in_a_question_as_escapes_and_keeps_its_lines() {
    let out = shown(&question());
    assert_neutralised("get", &out);
    assert!(out.contains("Hoe?\nRegel twee"), "{out}");
}

#[test]
fn list_shows_escape_sequences_as_escapes_on_one_line_per_question() {
    let out = shown(&list_table(&[question(), question()]));
    assert_neutralised("list", &out);
    assert_rows("list", &out, 2);
}

#[test]
fn queue_shows_escape_sequences_as_escapes_on_one_line_per_question() {
    let entry = proto::QueueEntry {
        question: Some(question()),
        priority: 1.0,
        reason: evil("why"),
        cause: 0,
    };
    let out = shown(&queue_table(&[entry]));
    assert_neutralised("queue", &out);
    assert_rows("queue", &out, 1);
}

#[test]
fn history_shows_escape_sequences_in_actors_reasons_and_changes_as_escapes() {
    let event = proto::HistoryEvent {
        seq: 1,
        actor: evil("anna"),
        reason: evil("te druk"),
        changes: vec![proto::FieldChange {
            field: evil("text"),
            before: evil("oud"),
            after: evil("nieuw\nregel"),
        }],
        ..Default::default()
    };
    let out = shown(&history_table(&[event]));
    assert_neutralised("history", &out);
    assert_rows("history", &out, 1);
}

#[test]
fn similar_shows_escape_sequences_in_questions_and_answers_as_escapes() {
    let x = proto::SimilarQuestion {
        id: evil("q7"),
        text: evil("Eerder"),
        answer: evil("Zo."),
        ..Default::default()
    };
    let out = shown(&similar_table(&[x]));
    assert_neutralised("similar", &out);
    assert_rows("similar", &out, 1);
}

#[test]
fn watch_shows_escape_sequences_in_an_event_as_escapes_on_one_line() {
    let event = proto::QuestionEvent {
        question_id: "q1".into(),
        actor: evil("anna"),
        expert_id: evil("eve"),
        ..Default::default()
    };
    let out = shown(&event);
    assert_neutralised("watch", &out);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn experts_list_shows_escape_sequences_in_names_and_organisations_as_escapes() {
    let expert = proto::Expert {
        id: "eve".into(),
        name: evil("Eve"),
        organization: evil("Gemeente"),
        region: evil("Utrecht"),
        themes: vec![evil("waste")],
        ..Default::default()
    };
    let out = shown(&experts_table(&[expert]));
    assert_neutralised("experts list", &out);
    assert_rows("experts list", &out, 1);
}

#[test]
fn classify_remote_shows_escape_sequences_in_provider_names_as_escapes() {
    let out = shown(&question().classification.unwrap_or_default());
    assert_neutralised("classify --remote", &out);
}

#[test]
fn json_output_is_left_as_serde_json_escapes_it() {
    let q = question();
    let json = q.json().map(|v| v.to_string()).unwrap_or_default();
    assert!(json.contains(r#"\u001b]0;pwned\u0007"#), "{json}");
    // JSON escapes C0 only: C1 and bidi controls pass as they are, which
    // is what JSON allows and what scripts reading it expect.
    assert!(!json.chars().any(|c| c < ' '), "{json}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["text"],
        q.text.as_str()
    );
}
