//! The real `kicer serve` process and the core team's CLI against it:
//! startup output, the lifecycle from the command line, imports, errors
//! and exit codes, SIGTERM with a watcher open, kill -9 and restart, and a
//! second server on the same data directory.

mod common;

use common::spawn_binary;
use std::io::Write;
use std::process::Output;
use std::time::{Duration, Instant};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(out: Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "failed: {stderr}\n{stdout}");
    stdout
}

fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}

fn wait_for_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            start.elapsed() < within,
            "the server did not stop within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn the_core_team_walks_a_question_through_triage_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_binary(&dir.path().join("data"));

    let q = json(app.kicer(&[
        "submit",
        "Wat is het eigenlijk?",
        "--org",
        "Gemeente Ede",
        "--org-type",
        "GEMEENTE",
        "--json",
    ]));
    assert_eq!(q["status"], "TRIAGE");
    let id = q["id"].as_str().unwrap().to_string();

    let queue = ok(app.kicer(&["queue"]));
    assert!(queue.starts_with("PRIORITY"), "{queue}");
    assert!(
        queue.contains(&id) && queue.contains("no evidence"),
        "{queue}"
    );

    let routed = json(app.kicer(&[
        "route",
        &id,
        "--provider",
        "vng",
        "--category",
        "STRATEGY",
        "--etag",
        q["etag"].as_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        (routed["status"].as_str(), routed["provider_id"].as_str()),
        (Some("ROUTED"), Some("vng"))
    );
    ok(app.kicer(&["accept", &id]));
    ok(app.kicer(&["wait", &id, "--reason", "welk jaar?"]));
    ok(app.kicer(&["resume", &id]));
    let answered = json(app.kicer(&[
        "answer",
        &id,
        "Zie de VNG-handreiking.",
        "--source",
        "https://vng.nl",
        "--review-after",
        "2027-06-01",
        "--json",
    ]));
    assert_eq!(answered["status"], "ANSWERED");
    assert!(
        answered["answer"]["review_after"]
            .as_str()
            .unwrap()
            .starts_with("2027-05-31T22:00:00"),
        "{answered}"
    );
    ok(app.kicer(&["close", &id]));

    let history = json(app.kicer(&["history", &id, "--json"]));
    let to: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            "RECEIVED",
            "TRIAGE",
            "ROUTED",
            "IN_PROGRESS",
            "WAITING",
            "IN_PROGRESS",
            "ANSWERED",
            "CLOSED"
        ]
    );
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "tester" || e["seq"].as_u64() < Some(2)));

    let gaps = ok(app.kicer(&["gaps", "--min", "1"]));
    assert!(gaps.contains("questions"), "{gaps}");
    let due = ok(app.kicer(&["review", "list", "--before", "2100-01-01"]));
    assert!(due.starts_with("DUE") && due.contains(&id), "{due}");
    let learned = ok(app.kicer(&["learned", "list"]));
    assert!(
        learned.contains("Nothing learned yet") || learned.starts_with("TERM"),
        "{learned}"
    );
    let table = ok(app.kicer(&["leadtimes", "--metric", "route", "--by", "category"]));
    assert!(
        table.starts_with("GROUP") && table.contains("STRATEGY"),
        "{table}"
    );

    // Errors: a clear message, the gRPC code, a non-zero exit status.
    let out = app.kicer(&["accept", &id]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("FailedPrecondition") && stderr.contains("CLOSED"),
        "{stderr}"
    );
    let out = app.kicer(&["get", "q999"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("does not exist"));
}

#[test]
fn experts_imported_from_csv_are_routed_to_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_binary(&dir.path().join("data"));
    let csv = dir.path().join("experts.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(
        f,
        "id,name,organization,organization_type,region,expertise,themes,capacity"
    )
    .unwrap();
    writeln!(f, "mira-matras,Mira de Vries,Matrasrecycling Oost,OTHER,Gelderland,matrassen:3;beddengoed:2,,2").unwrap();
    for n in 0..1500 {
        writeln!(f, "expert-{n},Expert {n},Org,GEMEENTE,,hout;glas,,3").unwrap();
    }
    drop(f);
    let out = ok(app.kicer(&["experts", "import", csv.to_str().unwrap()]));
    assert!(
        out.contains("imported 1501 experts: 1501 new, 0 replaced"),
        "{out}"
    );
    let c = json(app.kicer(&[
        "classify",
        "--remote",
        "Wie weet iets van het recyclen van matrassen?",
        "--org-type",
        "GEMEENTE",
        "--json",
    ]));
    assert_eq!(c["experts"][0]["id"], "mira-matras", "{c}");
    let list = json(app.kicer(&["experts", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1501);

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,name,capacity\nanna,Anna,veel\n").unwrap();
    let out = app.kicer(&["experts", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("line 2"), "{}", text(&out).1);
}

#[test]
fn sigterm_stops_the_server_cleanly_even_with_a_watcher_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_binary(&dir.path().join("data"));
    let watcher = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["watch", "--json"])
        .env("KICER_SERVER", &app.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let q = json(app.kicer(&[
        "submit",
        "Wat is het eigenlijk?",
        "--org",
        "Gemeente Ede",
        "--org-type",
        "GEMEENTE",
        "--json",
    ]));
    sigterm(app.child.id());
    let status = wait_for_exit(&mut app.child, Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    let watched = watcher.wait_with_output().unwrap();
    let events = String::from_utf8_lossy(&watched.stdout);
    assert!(events.contains(q["id"].as_str().unwrap()), "{events}");
    // The data is there after a restart.
    let again = spawn_binary(&app.data_dir);
    let back = json(again.kicer(&["get", q["id"].as_str().unwrap(), "--json"]));
    assert_eq!(back["status"], "TRIAGE");
}

#[test]
fn after_kill_9_a_restarted_server_has_every_acknowledged_question() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut ids = Vec::new();
    for round in 0..2 {
        let mut app = spawn_binary(&data);
        for n in 0..5 {
            let q = json(app.kicer(&[
                "submit",
                &format!("Vraag {round}-{n} over circulair inkopen?"),
                "--org",
                "Gemeente Ede",
                "--org-type",
                "GEMEENTE",
                "--json",
            ]));
            ids.push(q["id"].as_str().unwrap().to_string());
        }
        app.child.kill().unwrap(); // SIGKILL
        app.child.wait().unwrap();
    }
    let app = spawn_binary(&data);
    for id in &ids {
        ok(app.kicer(&["get", id]));
    }
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _first = spawn_binary(&data);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another kicer process"),
        "{stderr}"
    );
}

#[test]
fn a_client_without_a_server_says_how_to_start_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["queue"])
        .env("KICER_SERVER", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kicer serve"), "{stderr}");
}

#[test]
fn listening_beyond_loopback_is_refused_unless_insecure_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&data)
        .env_remove("KICER_INSECURE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure"), "{stderr}");
    assert!(!data.exists(), "nothing is created before the refusal");

    // With --insecure it starts, and says at start what that means.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--insecure", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.starts_with("kicer listening on 0.0.0.0:"), "{first}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no clients configured"), "{stderr}");
}
