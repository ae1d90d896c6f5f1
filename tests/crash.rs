//! Durability against `kill -9`: a real `kicer` process performs concurrent
//! acknowledged writes (submits, accepts, answers) and is killed with
//! SIGKILL mid-stream; the store is reopened and every acknowledged write
//! must be there with its last acknowledged state. Repeated on the same
//! data directory, so recovery after a crash is itself crashed into.

use kicer::store::{QuestionId, SledStore, Store, StoreOptions, SystemTime};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
struct Ack {
    status: String,
    version: u64,
}

fn parse(line: &str) -> Option<(QuestionId, Ack)> {
    let mut parts = line.split_whitespace();
    (parts.next()? == "ack").then_some(())?;
    let id = QuestionId::parse(parts.next()?).ok()?;
    let status = parts.next()?.to_string();
    let version = parts.next()?.parse().ok()?;
    Some((id, Ack { status, version }))
}

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: HashMap<QuestionId, Ack> = HashMap::new();
    for (round, kill_after) in [150usize, 400, 60, 900, 250].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kicer"))
            .args([
                "load",
                "submit",
                "--writers",
                "8",
                "--count",
                "1000000",
                "--lifecycle",
                "--acks",
                "--record-bytes",
                "500",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kicer starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < kill_after {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some((id, ack)) = parse(&line) {
                        let newer = acked.get(&id).is_none_or(|a| ack.version > a.version);
                        if newer {
                            acked.insert(id, ack);
                        }
                        seen += 1;
                    }
                }
                _ => {
                    let _ = child.wait();
                    let mut err = String::new();
                    use std::io::Read;
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    panic!("round {round}: kicer stopped before {kill_after} acks: {err}");
                }
            }
        }
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
                                        // Acks already printed before the kill still count.
        for line in lines.map_while(Result::ok) {
            if let Some((id, ack)) = parse(&line) {
                if acked.get(&id).is_none_or(|a| ack.version > a.version) {
                    acked.insert(id, ack);
                }
            }
        }
        child.wait().unwrap();

        let store = SledStore::open(dir.path(), StoreOptions::default(), Arc::new(SystemTime))
            .unwrap_or_else(|e| {
                panic!("round {round}: the store does not reopen after kill -9: {e}")
            });
        for (id, ack) in &acked {
            let q = store
                .get(*id)
                .unwrap_or_else(|e| panic!("round {round}: acknowledged {id} lost: {e}"));
            // Each writer has at most one write in flight: it may have
            // reached the disk without its ack being printed.
            assert!(
                q.version == ack.version || q.version == ack.version + 1,
                "round {round}: {id} acknowledged at version {} but stored at {}",
                ack.version,
                q.version
            );
            if q.version == ack.version {
                assert_eq!(q.status.to_string(), ack.status, "round {round}: {id}");
            }
            assert_eq!(
                store.history(*id).unwrap().len() as u32,
                q.events,
                "round {round}: {id} history"
            );
        }
        drop(store);
    }
    assert!(
        acked.len() >= 300,
        "only {} questions acknowledged",
        acked.len()
    );
}
