//! The `kicer` binary as users and other tools run it: `classify` (readable
//! and `--json`), `eval`, the errors a mistyped file or option gives, and
//! text with terminal escape sequences: refused by the server, and shown
//! harmlessly by every view when a store holds it anyway.

mod common;

use common::spawn_binary;
use kicer::domain::{ExpertRecord, Expertise, OrganizationType};
use kicer::store::{
    ClassificationSnapshot, Decision, NewQuestion, SledStore, Store, StoreOptions, SystemTime,
};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn kicer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(args)
        .env_remove("KICER_TAXONOMY")
        .output()
        .expect("the kicer binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn classify_json_has_the_stable_field_names_other_tools_read() {
    let out = kicer(&[
        "classify",
        "Hoe kunnen we als gemeente circulair gaan inkopen en aanbesteden?",
        "--org-type",
        "GEMEENTE",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["category"], "SPECIFIC");
    for field in [
        "confidence",
        "category_scores",
        "themes",
        "knowledge_kind",
        "providers",
        "experts",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    let first = &v["providers"][0];
    assert_eq!(first["id"], "pianoo");
    for field in ["id", "name", "score", "matched_terms"] {
        assert!(
            first.get(field).is_some(),
            "provider lacks {field}: {first}"
        );
    }
    assert!(first["matched_terms"][0]["contribution"].as_f64().unwrap() > 0.0);
}

#[test]
fn classify_says_none_when_nothing_matches() {
    let out = kicer(&["classify", "Lorem ipsum dolor sit amet", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["category"], "NONE");
    assert_eq!(v["providers"].as_array().map(Vec::len), Some(0));
}

#[test]
fn classify_prints_a_readable_report_by_default() {
    let out = kicer(&["classify", "Hoe bereiken we burgers met afvalscheiding?"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Category") && text.contains("Providers") && text.contains("because"),
        "{text}"
    );
}

#[test]
fn an_empty_question_or_unknown_org_type_is_refused_with_what_to_fix() {
    let out = kicer(&["classify", "   "]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));

    let out = kicer(&["classify", "afval", "--org-type", "GEMEENTEN"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("GEMEENTE, PROVINCIE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_taxonomy_file_is_refused_with_its_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        "version = 1\nextends = \"default\"\n[[theme]]\nid = \"waste\"\nreview_months = \"soon\"\n",
    )
    .unwrap();
    let out = kicer(&["classify", "afval", "--taxonomy", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("mine.toml:5:"), "{err}");
}

#[test]
fn experts_from_a_file_are_matched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("experts.json");
    std::fs::write(
        &path,
        r#"[{"id":"anna-jansen","name":"Anna Jansen","organization_type":"GEMEENTE","region":"Utrecht",
             "expertise":{"omgekeerd inzamelen":3,"afvalscheiding":2},"themes":["waste"],"categories":["EXECUTION"]}]"#,
    )
    .unwrap();
    let out = kicer(&[
        "classify",
        "Wie heeft ervaring met omgekeerd inzamelen?",
        "--experts",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["experts"][0]["id"], "anna-jansen");
}

fn labelled_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("set.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"id":"t1","text":"Hoe kunnen we circulair gaan inkopen en aanbesteden?","org_type":"GEMEENTE","category":"SPECIFIC","themes":["procurement"],"providers":["pianoo"],"kind":"EXISTING"}"#,
            "\n",
            r#"{"id":"t2","text":"Hoe bereiken we burgers en hoe zorgen we dat inwoners meedoen?","org_type":"GEMEENTE","category":"COLLABORATION","themes":["citizens"],"providers":["ce-consultants"],"kind":"TACIT"}"#,
            "\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn eval_prints_the_metrics_and_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_file(dir.path());
    let out = kicer(&["eval", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for metric in [
        "category accuracy",
        "macro-F1",
        "hit@1",
        "hit@3",
        "MRR",
        "theme precision",
        "confusion",
    ] {
        assert!(text.contains(metric), "missing {metric}: {text}");
    }
    let out = kicer(&["eval", file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["questions"], 2);
    assert!(v["category_accuracy"].as_f64().is_some());
}

#[test]
fn eval_exits_2_below_a_required_quality() {
    let dir = tempfile::tempdir().unwrap();
    let file = labelled_file(dir.path());
    // Nothing reaches accuracy 1.01.
    let out = kicer(&["eval", file.to_str().unwrap(), "--min-accuracy", "1.01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("below the required quality"));
}

#[test]
fn eval_names_the_bad_line_of_a_labelled_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"x\",\"text\":\"y\",\"category\":\"STRATEGIE\"}\n",
    )
    .unwrap();
    let out = kicer(&["eval", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
}

/// A window-title change, a screen clear and a hidden OSC 8 link.
const ESCAPES: &str =
    "\u{1b}]0;pwned\u{7} \u{1b}[2J \u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\";
/// How the CLI shows [`ESCAPES`].
const SHOWN: &str =
    r"\u{1b}]0;pwned\u{7} \u{1b}[2J \u{1b}]8;;http://evil\u{1b}\click\u{1b}]8;;\u{1b}\";

/// Asserts the output reached the terminal without a raw control
/// character other than newline and tab.
fn assert_no_raw_controls(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{what} printed a raw control character: {text:?}"
    );
}

#[test]
fn the_server_refuses_escape_sequences_and_invisible_text_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_binary(&dir.path().join("data"));
    let text = format!("Hoe scheiden we afval? {ESCAPES}");
    let invisible = "\u{200b}\u{200d}\u{feff}";
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "submit",
                &text,
                "--org",
                "Gemeente Ede",
                "--org-type",
                "GEMEENTE",
            ],
            "text contains control characters",
        ),
        (
            &["submit", "Hoe?", "--org", &text, "--org-type", "GEMEENTE"],
            "organization_name contains control characters",
        ),
        (
            &[
                "submit",
                invisible,
                "--org",
                "Gemeente Ede",
                "--org-type",
                "GEMEENTE",
            ],
            "text is empty or has no visible character",
        ),
        (
            &[
                "submit",
                "Hoe?",
                "--org",
                "Gemeente Ede",
                "--org-type",
                "GEMEENTE",
                "--portal",
                &text,
            ],
            "portal contains control characters",
        ),
        (
            &[
                "experts", "add", "--id", "eve", "--name", &text, "--terms", "afval",
            ],
            "expert.name contains control characters",
        ),
    ];
    for (args, message) in cases {
        let out = app.kicer(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = stderr(&out);
        assert!(err.contains("InvalidArgument"), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_no_raw_controls("the refusal", &err);
    }
    let list = app.kicer(&["list", "--json"]);
    assert_eq!(stdout(&list).trim(), "[]", "nothing was stored");
}

#[test]
fn an_error_reply_that_echoes_escape_sequences_is_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_binary(&dir.path().join("data"));
    // The etag is read before the question is looked up, so no question
    // is needed for the server to quote it in its refusal. The server
    // quotes a client's value shortened and escaped; the CLI would escape
    // it anyway (the unit tests of `render` show that on raw replies).
    let out = app.kicer(&["accept", "q1", "--etag", ESCAPES]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("InvalidArgument"), "{err}");
    assert!(err.contains("`\\u{1b}]0;pwned"), "{err}");
    assert_no_raw_controls("the error", &err);
}

/// A data directory holding what a server accepted before the input
/// rules: two questions and an expert whose texts carry [`ESCAPES`].
fn store_from_before_the_input_rules(data: &Path) {
    let store =
        SledStore::open(data, StoreOptions::default(), Arc::new(SystemTime)).expect("store opens");
    for _ in 0..2 {
        store
            .submit(NewQuestion {
                text: format!("Hoe scheiden we grofvuil? {ESCAPES}\nTweede regel"),
                organization_name: format!("Gemeente {ESCAPES}"),
                organization_type: OrganizationType::Gemeente,
                region: None,
                portal: format!("portal {ESCAPES}"),
                request_id: None,
                classification: ClassificationSnapshot::default(),
                decision: Decision::Triage {
                    reason: format!("onduidelijk {ESCAPES}"),
                },
                impact: 3,
                effort: 3,
                actor: format!("anna {ESCAPES}").into(),
            })
            .expect("question stored");
    }
    store
        .put_expert(&ExpertRecord {
            id: "eve".into(),
            name: format!("Eve {ESCAPES}"),
            organization: format!("Gemeente {ESCAPES}"),
            organization_type: "GEMEENTE".into(),
            region: None,
            expertise: Expertise::List(vec!["grofvuil".into()]),
            themes: Vec::new(),
            categories: Vec::new(),
            capacity: 3,
            available: true,
            absences: Vec::new(),
        })
        .expect("expert stored");
    store.flush().expect("store flushed");
}

#[test]
fn text_stored_before_the_input_rules_is_shown_escaped_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    store_from_before_the_input_rules(&data);
    let app = spawn_binary(&data);
    let views: [&[&str]; 6] = [
        &["get", "q1"],
        &["list"],
        &["queue"],
        &["history", "q1"],
        &["similar", "--id", "q1"],
        &["experts", "list"],
    ];
    for args in views {
        let out = app.kicer(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert_no_raw_controls(&format!("{args:?}"), &text);
        assert!(
            text.contains(r"\u{1b}]0;pwned\u{7}"),
            "{args:?} hides the title change: {text}"
        );
    }
    let get = stdout(&app.kicer(&["get", "q1"]));
    assert!(
        get.contains(&format!("Hoe scheiden we grofvuil? {SHOWN}\nTweede regel")),
        "{get}"
    );
    let list = stdout(&app.kicer(&["list"]));
    assert_eq!(list.lines().count(), 3, "one line per question: {list}");

    // `--json` stays as it was: serde_json escapes the controls.
    let json = app.kicer(&["get", "q1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(v["organization_name"], format!("Gemeente {ESCAPES}"));
    assert!(
        stdout(&json).contains(r"\u001b]0;pwned\u0007"),
        "{}",
        stdout(&json)
    );
}

#[test]
fn token_create_prints_a_token_and_the_block_that_admits_it() {
    let out = kicer(&[
        "token",
        "create",
        "--name",
        "portal-zwolle",
        "--role",
        "portal",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (token, block) = text.split_once('\n').expect("token on the first line");
    assert!(
        token.starts_with("kicer_") && token.len() >= 6 + 64,
        "{token}"
    );
    #[derive(serde::Deserialize)]
    struct File {
        clients: Vec<kicer::auth::ClientEntry>,
    }
    let file: File = toml::from_str(block).expect("a TOML block to paste");
    let clients = kicer::auth::Clients::new(&file.clients).unwrap();
    let who = clients
        .authenticate(token)
        .expect("the block admits the token");
    assert_eq!(who.name(), "portal-zwolle");
    assert_eq!(who.role(), kicer::auth::Role::Portal);
    assert!(stderr(&out).contains("SIGHUP"), "{}", stderr(&out));
    let again = kicer(&[
        "token",
        "create",
        "--name",
        "portal-zwolle",
        "--role",
        "portal",
    ]);
    assert_ne!(
        stdout(&again).lines().next(),
        Some(token),
        "every token is new"
    );

    let bad = kicer(&["token", "create", "--name", "has space", "--role", "portal"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("letters, digits"), "{}", stderr(&bad));
    let bad = kicer(&["token", "create", "--name", "x", "--role", "boss"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("portal"), "{}", stderr(&bad));
}
