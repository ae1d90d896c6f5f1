//! Clients of the real `kicer serve` process reloaded by SIGHUP: a token
//! added, rotated and revoked without a restart, and a config that does
//! not read keeping the clients in force.

mod common;

use common::spawn_binary_with;
use std::path::Path;
use std::time::{Duration, Instant};

fn block(name: &str, role: &str, token: &str) -> String {
    format!(
        "[[clients]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n",
        kicer::auth::token::sha256_hex(token)
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("config written");
}

fn hangup(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Whether `kicer stats` with `token` is let in (and otherwise, that it
/// was refused as unauthenticated, not for another reason).
fn admitted(app: &common::BinaryApp, token: &str) -> bool {
    let out = app.kicer(&["--token", token, "stats"]);
    if out.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Unauthenticated"), "{stderr}");
    false
}

/// Waits until the server admits (or refuses) `token`, as it does once the
/// reload it was sent has been read.
fn eventually(app: &common::BinaryApp, token: &str, admit: bool) {
    let start = Instant::now();
    while admitted(app, token) != admit {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "after SIGHUP the server still {} {token}",
            if admit { "refuses" } else { "admits" }
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tokens_are_added_rotated_and_revoked_by_sighup_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kicer.toml");
    write(&config, &block("core-team", "triage", "old-token"));
    let config_arg = config.to_str().unwrap();
    let app = spawn_binary_with(&dir.path().join("data"), &["--config", config_arg]);
    let pid = app.child.id();
    assert!(admitted(&app, "old-token"));
    assert!(!admitted(&app, "new-token"));

    // Rotation: both tokens for a while, then only the new one.
    write(
        &config,
        &(block("core-team", "triage", "old-token") + &block("core-team", "triage", "new-token")),
    );
    hangup(pid);
    eventually(&app, "new-token", true);
    assert!(admitted(&app, "old-token"), "both work during the rotation");
    write(&config, &block("core-team", "triage", "new-token"));
    hangup(pid);
    eventually(&app, "old-token", false);
    assert!(admitted(&app, "new-token"));

    // A config that does not read keeps the clients in force.
    write(&config, "[[clients]]\nname = \"x\"\nrole = \"boss\"\n");
    hangup(pid);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        admitted(&app, "new-token"),
        "a failed reload keeps the old clients"
    );
    // ... and the next good one is read again (the server did not stop
    // listening for SIGHUP).
    write(&config, &block("ops", "admin", "third-token"));
    hangup(pid);
    eventually(&app, "third-token", true);
    assert!(!admitted(&app, "new-token"), "revoked by leaving it out");
    assert_eq!(app.child.id(), pid, "the same process all along");
}
