//! The `kicer` binary as users and other tools run it: `classify` (readable
//! and `--json`), `eval`, and the errors a mistyped file or option gives.

use std::path::Path;
use std::process::{Command, Output};

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
