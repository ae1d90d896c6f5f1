//! Faults an operator meets, through the real binary: a disk that fills up
//! and empties again, and a store file with a damaged byte.

mod common;

use common::{spawn_binary_logged, submit_request, CLEAR_QUESTION};
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// A small tmpfs: the disk that fills up. Unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts 24 MiB of tmpfs, or says why it cannot (not root, no mount
    /// in a container). CI sets `KICER_TEST_TMPFS=required`, so there the
    /// test cannot pass by skipping.
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
            .arg(&path)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { path, _dir: dir }),
            other => {
                let why = format!("cannot mount a tmpfs here ({other:?})");
                assert!(
                    std::env::var("KICER_TEST_TMPFS").as_deref() != Ok("required"),
                    "{why}, and KICER_TEST_TMPFS=required"
                );
                eprintln!("SKIPPED: {why}; run as root to test a full disk");
                None
            }
        }
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 1 << 20];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

async fn channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connects")
}

fn request(n: &str) -> kicer::grpc::proto::SubmitQuestionRequest {
    let mut r = submit_request(&format!("{CLEAR_QUESTION} ({n})"));
    r.request_id = format!("req-{n}");
    r
}

/// Waits for the process to end and returns its exit status.
fn exit_status(child: &mut std::process::Child, within: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test]
async fn a_full_disk_shows_in_health_stops_the_server_and_a_restart_after_freeing_space_serves() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let data = disk.path.join("data");
    let log = disk._dir.path().join("log");
    let mut app = spawn_binary_logged(&data, &log);
    let mut q = QuestionServiceClient::connect(app.url.clone())
        .await
        .expect("connects");
    let first = q
        .submit_question(request("1"))
        .await
        .expect("submit")
        .into_inner();
    let mut health = HealthClient::new(channel(&app.url).await);
    let mut watch = health
        .watch(HealthCheckRequest::default())
        .await
        .expect("health watch")
        .into_inner();
    let seen = watch.message().await.expect("health").expect("a status");
    assert_eq!(seen.status(), ServingStatus::Serving);

    let filler = disk.fill();
    let refused = q
        .submit_question(request("2"))
        .await
        .expect_err("no write fits on a full disk");
    assert_eq!(refused.code(), tonic::Code::Unavailable);
    assert!(
        refused.message().contains("disk holding the store is full")
            && !refused.message().contains("os error"),
        "{}",
        refused.message()
    );
    // Health says so before the process stops.
    let mut went = Vec::new();
    while let Ok(Some(m)) = watch.message().await {
        went.push(m.status());
        if m.status() == ServingStatus::NotServing {
            break;
        }
    }
    assert!(went.contains(&ServingStatus::NotServing), "{went:?}");
    assert_eq!(
        exit_status(&mut app.child, Duration::from_secs(20)),
        Some(74),
        "a store that refuses writes stops kicer with status 74"
    );
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(said.contains("stopped accepting writes"), "{said}");

    // Space freed, the supervisor restarts it: it serves, keeps the
    // acknowledged write, replays its request id and takes new ones.
    std::fs::remove_file(filler).expect("free the space");
    let app = spawn_binary_logged(&data, &log);
    let mut health = HealthClient::new(channel(&app.url).await);
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .expect("health")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);
    let mut q = QuestionServiceClient::connect(app.url.clone())
        .await
        .expect("connects");
    let again = q
        .submit_question(request("1"))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!((again.id, again.etag), (first.id, first.etag));
    q.submit_question(request("3"))
        .await
        .expect("a new write after the restart");
}

/// `kicer serve` on `dir`: its exit status and stderr, or `None` when it
/// was still serving after a few seconds (sled read past the damage).
fn start(dir: &Path) -> Option<(i32, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("KICER_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kicer serve starts");
    let code = exit_status(&mut child, Duration::from_secs(4));
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("output");
    code.map(|c| (c, String::from_utf8_lossy(&out.stderr).into_owned()))
}

#[test]
fn a_store_with_a_damaged_byte_is_refused_with_what_to_do_never_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = dir.path().join("data");
    let filled = Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["load", "fill", "--questions", "300", "--data-dir"])
        .arg(&original)
        .output()
        .expect("fill runs");
    assert!(filled.status.success(), "{filled:?}");
    let size = std::fs::metadata(original.join("db")).expect("db").len() as usize;
    let mut refused = 0;
    for k in 0..8 {
        let copy = dir.path().join(format!("copy{k}"));
        std::fs::create_dir(&copy).expect("copy");
        for entry in std::fs::read_dir(&original).expect("store") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_file() {
                std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
            }
        }
        let at = size * k / 8 + 1234;
        let mut bytes = std::fs::read(copy.join("db")).expect("db");
        bytes[at] ^= 0xff;
        std::fs::write(copy.join("db"), bytes).expect("damaged");
        if let Some((code, stderr)) = start(&copy) {
            assert!(!stderr.contains("panicked"), "byte {at}: {stderr}");
            assert_eq!(code, 74, "byte {at}: {stderr}");
            assert!(
                stderr.contains("is damaged") && stderr.contains("kicer restore"),
                "byte {at}: {stderr}"
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "no damaged byte stopped the start");
}
