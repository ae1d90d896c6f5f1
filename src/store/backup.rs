//! Online backups: the backup file format, its manifest, and checking and
//! restoring a backup directory. How a consistent snapshot is taken while
//! writes go on is the backend's business (`SledStore::backup`); this file
//! knows nothing of sled.
//!
//! A backup directory holds [`DATA_FILE`] and [`MANIFEST_FILE`]. The
//! manifest is written last, so a directory without one is a backup that
//! did not finish. The data file is a header (`KICERBAK` + format), then
//! records, each a put (key, value) or a deletion (key), then an end
//! record with the number of records. Restoring applies the records in
//! order, so a later record of a key replaces an earlier one: that is how
//! the catch-up rounds of an online backup correct the first pass. The
//! manifest carries the SHA-256 of the data file; restoring checks the
//! whole file against it before writing anything.

use super::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of the backup file format this build writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
/// The records of a backup.
pub const DATA_FILE: &str = "data.kbk";
/// What a backup holds and its checksum, written last.
pub const MANIFEST_FILE: &str = "manifest.json";

const MAGIC: &[u8; 8] = b"KICERBAK";
const PUT: u8 = b'P';
const DELETE: u8 = b'D';
const END: u8 = b'Z';
/// Longest key a backup may hold: store keys are short (a prefix, a few
/// numbers and names). A longer length in a file means it is damaged, and
/// is refused before anything that large is allocated.
const MAX_KEY_BYTES: usize = 64 * 1024;
/// Longest value a backup may hold: the largest stored records (a
/// question with its classification, the learned model) are far smaller.
const MAX_VALUE_BYTES: usize = 256 * 1024 * 1024;

/// Where a backend writes the records of a snapshot.
pub trait SnapshotSink {
    /// `key` has `value`.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// `key` does not exist (it was removed after the first pass saw it).
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError>;
}

/// What a backend tells about the snapshot it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotStats {
    /// The store format of the records.
    pub store_format: u32,
    /// When the snapshot holds (ms since the epoch): the end of the final
    /// catch-up, while writes were held back.
    pub taken_ms: i64,
    /// How long writes were held back.
    pub pause: Duration,
    /// Catch-up rounds after the first pass, the final one included.
    pub rounds: u32,
    /// Questions in the snapshot.
    pub questions: u64,
}

/// A backup's manifest: what it holds and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Version of the backup file format.
    pub backup_format: u32,
    /// Store format of the records.
    pub store_format: u32,
    /// Records in the data file.
    pub records: u64,
    /// Length of the data file in bytes.
    pub bytes: u64,
    /// SHA-256 of the data file, lowercase hex.
    pub sha256: String,
    /// When the snapshot holds (ms since the epoch).
    pub taken_ms: i64,
    /// How long writes were held back, in milliseconds.
    pub pause_ms: u64,
    /// Catch-up rounds after the first pass.
    pub rounds: u32,
    /// Questions in the snapshot.
    pub questions: u64,
    /// The kicer version that took it.
    pub kicer_version: String,
}

/// Why a backup cannot be written, read or restored. Messages say what to
/// do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target directory holds files already.
    #[error("{path} is not empty: {hint}")]
    NotEmpty {
        /// The directory.
        path: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// The directory is not a finished backup.
    #[error("{path} has no {MANIFEST_FILE}: it is not a finished kicer backup (a backup that was interrupted has none); give the directory of a finished backup, or take a new one")]
    NoManifest {
        /// The directory.
        path: String,
    },
    /// The backup does not match its manifest, or cannot be parsed.
    #[error(
        "the backup in {path} is damaged ({reason}): nothing was restored; use another backup"
    )]
    Damaged {
        /// The directory.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The backup was written in a format this build does not know.
    #[error("the backup in {path} has backup format {found}; this kicer reads format {BACKUP_FORMAT}: restore it with the kicer version that took it ({version}) or newer")]
    NewerFormat {
        /// The directory.
        path: String,
        /// Its format.
        found: u32,
        /// The version that wrote it.
        version: String,
    },
    /// The backup holds a store format newer than this build reads.
    #[error("the backup in {path} holds store format {found}; this kicer reads store formats up to {supported}: restore it with the kicer version that took it ({version}) or newer")]
    NewerStore {
        /// The directory.
        path: String,
        /// Its store format.
        found: u32,
        /// The newest this build reads.
        supported: u32,
        /// The version that wrote it.
        version: String,
    },
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What kicer was doing.
        context: String,
        /// The error underneath.
        #[source]
        source: io::Error,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> BackupError {
    let context = context.into();
    move |source| BackupError::Io { context, source }
}

/// Writes the records of a snapshot in the backup format, hashing them
/// as they go.
pub struct BackupWriter<W: Write> {
    out: W,
    hash: Sha256,
    records: u64,
    bytes: u64,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup file in `out`.
    pub fn new(out: W) -> Result<Self, StoreError> {
        let mut w = BackupWriter {
            out,
            hash: Sha256::new(),
            records: 0,
            bytes: 0,
        };
        w.write(MAGIC)?;
        w.write(&BACKUP_FORMAT.to_be_bytes())?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.hash.update(bytes);
        self.bytes += bytes.len() as u64;
        self.out
            .write_all(bytes)
            .map_err(|e| StoreError::io("writing the backup", e))
    }

    fn write_len(&mut self, len: usize) -> Result<(), StoreError> {
        let len = u32::try_from(len).map_err(|_| StoreError::Encode {
            what: "a backup record",
            reason: format!("{len} bytes is longer than a record can be"),
        })?;
        self.write(&len.to_be_bytes())
    }

    /// Ends the file (the end record), flushes it and returns its
    /// manifest.
    pub fn finish(mut self, stats: &SnapshotStats) -> Result<Manifest, StoreError> {
        let records = self.records;
        self.write(&[END])?;
        self.write(&records.to_be_bytes())?;
        self.out
            .flush()
            .map_err(|e| StoreError::io("writing the end of the backup", e))?;
        Ok(Manifest {
            backup_format: BACKUP_FORMAT,
            store_format: stats.store_format,
            records,
            bytes: self.bytes,
            sha256: hex(&self.hash.finalize()),
            taken_ms: stats.taken_ms,
            pause_ms: u64::try_from(stats.pause.as_millis()).unwrap_or(u64::MAX),
            rounds: stats.rounds,
            questions: stats.questions,
            kicer_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }
}

impl<W: Write> SnapshotSink for BackupWriter<W> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.write(&[PUT])?;
        self.write_len(key.len())?;
        self.write(key)?;
        self.write_len(value.len())?;
        self.write(value)?;
        self.records += 1;
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.write(&[DELETE])?;
        self.write_len(key.len())?;
        self.write(key)?;
        self.records += 1;
        Ok(())
    }
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One record of a backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The key has this value.
    Put(Vec<u8>, Vec<u8>),
    /// The key does not exist.
    Delete(Vec<u8>),
}

/// Reads the records of a data file, checking its structure and hashing
/// every byte.
struct Records<R: Read> {
    input: R,
    hash: Sha256,
    bytes: u64,
    records: u64,
    ended: bool,
}

impl<R: Read> Records<R> {
    fn open(input: R) -> Result<Self, String> {
        let mut r = Records {
            input,
            hash: Sha256::new(),
            bytes: 0,
            records: 0,
            ended: false,
        };
        let magic: [u8; 8] = r.array()?;
        if &magic != MAGIC {
            return Err("it does not start like a kicer backup file".into());
        }
        let format = u32::from_be_bytes(r.array()?);
        if format != BACKUP_FORMAT {
            return Err(format!(
                "its data file has backup format {format}, its manifest another"
            ));
        }
        Ok(r)
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                format!("the data file ends early, after {} bytes", self.bytes)
            } else {
                format!("reading the data file failed: {e}")
            }
        })?;
        self.hash.update(&*buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        self.fill(&mut a)?;
        Ok(a)
    }

    fn field(&mut self, max: usize, what: &str) -> Result<Vec<u8>, String> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        if len > max {
            return Err(format!(
                "a {what} of {len} bytes at byte {} (at most {max} are possible)",
                self.bytes
            ));
        }
        let mut v = vec![0; len];
        self.fill(&mut v)?;
        Ok(v)
    }

    /// The next record; `None` after the end record.
    fn next_record(&mut self) -> Result<Option<Record>, String> {
        if self.ended {
            return Ok(None);
        }
        let [tag] = self.array()?;
        let record = match tag {
            PUT => {
                let key = self.field(MAX_KEY_BYTES, "key")?;
                Record::Put(key, self.field(MAX_VALUE_BYTES, "value")?)
            }
            DELETE => Record::Delete(self.field(MAX_KEY_BYTES, "key")?),
            END => {
                let count = u64::from_be_bytes(self.array()?);
                if count != self.records {
                    return Err(format!(
                        "its end says {count} records, it holds {}",
                        self.records
                    ));
                }
                let mut rest = [0u8; 1];
                if self.input.read(&mut rest).map_err(|e| e.to_string())? != 0 {
                    return Err("there are bytes after its end".into());
                }
                self.ended = true;
                return Ok(None);
            }
            other => {
                return Err(format!(
                    "an unknown record type {other:#04x} at byte {}",
                    self.bytes - 1
                ))
            }
        };
        self.records += 1;
        Ok(Some(record))
    }
}

/// Fails unless `dir` is absent or an empty directory; `hint` says what to
/// do instead.
pub fn ensure_empty(dir: &Path, hint: &'static str) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty {
                    path: dir.display().to_string(),
                    hint,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Io {
            context: format!("cannot read {}", dir.display()),
            source: e,
        }),
    }
}

/// A backup directory that was checked against its manifest.
#[derive(Debug)]
pub struct Checked {
    dir: PathBuf,
    manifest: Manifest,
}

impl Checked {
    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Calls `apply` with every record in order, then checks the file
    /// against the manifest again (it was read twice). `progress` is told
    /// the records done so far every so often.
    pub fn replay(
        &self,
        mut apply: impl FnMut(Record) -> Result<(), StoreError>,
        progress: &dyn Fn(u64),
    ) -> Result<(), BackupError> {
        let mut records = open_records(&self.dir)?;
        loop {
            match records.next_record() {
                Ok(Some(record)) => {
                    apply(record)?;
                    if records.records % 10_000 == 0 {
                        progress(records.records);
                    }
                }
                Ok(None) => break,
                Err(reason) => return Err(damaged(&self.dir, reason)),
            }
        }
        progress(records.records);
        matches_manifest(&self.dir, &records, &self.manifest)
    }
}

fn damaged(dir: &Path, reason: impl Into<String>) -> BackupError {
    BackupError::Damaged {
        path: dir.display().to_string(),
        reason: reason.into(),
    }
}

fn open_records(dir: &Path) -> Result<Records<BufReader<File>>, BackupError> {
    let path = dir.join(DATA_FILE);
    let file = File::open(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            damaged(dir, format!("{DATA_FILE} is missing"))
        } else {
            BackupError::Io {
                context: format!("cannot read {}", path.display()),
                source: e,
            }
        }
    })?;
    Records::open(BufReader::with_capacity(1 << 20, file)).map_err(|r| damaged(dir, r))
}

fn matches_manifest<R: Read>(
    dir: &Path,
    records: &Records<R>,
    manifest: &Manifest,
) -> Result<(), BackupError> {
    let sha = hex(&records.hash.clone().finalize());
    if records.bytes != manifest.bytes {
        return Err(damaged(
            dir,
            format!(
                "the data file has {} bytes, the manifest says {}",
                records.bytes, manifest.bytes
            ),
        ));
    }
    if records.records != manifest.records {
        return Err(damaged(
            dir,
            format!(
                "the data file has {} records, the manifest says {}",
                records.records, manifest.records
            ),
        ));
    }
    if sha != manifest.sha256 {
        return Err(damaged(
            dir,
            format!(
                "the data file's SHA-256 is {sha}, the manifest says {}",
                manifest.sha256
            ),
        ));
    }
    Ok(())
}

/// Reads the manifest of `dir` and checks the whole data file against it:
/// format, structure, length, record count and SHA-256. Nothing is
/// written. `newest_store_format` is the newest store format the caller
/// can restore.
pub fn check(dir: &Path, newest_store_format: u32) -> Result<Checked, BackupError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read(&manifest_path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BackupError::NoManifest {
                path: dir.display().to_string(),
            })
        }
        Err(e) => {
            return Err(BackupError::Io {
                context: format!("cannot read {}", manifest_path.display()),
                source: e,
            })
        }
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| damaged(dir, format!("{MANIFEST_FILE} cannot be read: {e}")))?;
    if manifest.backup_format > BACKUP_FORMAT {
        return Err(BackupError::NewerFormat {
            path: dir.display().to_string(),
            found: manifest.backup_format,
            version: manifest.kicer_version,
        });
    }
    if manifest.store_format > newest_store_format {
        return Err(BackupError::NewerStore {
            path: dir.display().to_string(),
            found: manifest.store_format,
            supported: newest_store_format,
            version: manifest.kicer_version,
        });
    }
    let mut records = open_records(dir)?;
    loop {
        match records.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(reason) => return Err(damaged(dir, reason)),
        }
    }
    matches_manifest(dir, &records, &manifest)?;
    Ok(Checked {
        dir: dir.to_path_buf(),
        manifest,
    })
}

/// Writes `bytes` to `path` and syncs it, so that a file that exists is
/// complete.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let context = || format!("cannot write {}", path.display());
    let mut file = BufWriter::new(File::create(path).map_err(io_error(context()))?);
    file.write_all(bytes).map_err(io_error(context()))?;
    let file = file.into_inner().map_err(|e| BackupError::Io {
        context: context(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_error(context()))
}

/// Syncs a directory, so that the files made in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(format!("cannot sync {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> SnapshotStats {
        SnapshotStats {
            store_format: 3,
            taken_ms: 1_700_000_000_000,
            pause: Duration::from_millis(3),
            rounds: 1,
            questions: 2,
        }
    }

    /// Writes a backup of `records` into a new directory.
    fn backup(records: &[Record]) -> (tempfile::TempDir, Manifest) {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BackupWriter::new(File::create(dir.path().join(DATA_FILE)).unwrap()).unwrap();
        for r in records {
            match r {
                Record::Put(k, v) => w.put(k, v).unwrap(),
                Record::Delete(k) => w.delete(k).unwrap(),
            }
        }
        let manifest = w.finish(&stats()).unwrap();
        write_synced(
            &dir.path().join(MANIFEST_FILE),
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        (dir, manifest)
    }

    fn sample() -> Vec<Record> {
        vec![
            Record::Put(b"q1".to_vec(), b"first".to_vec()),
            Record::Put(b"q2".to_vec(), vec![0; 1000]),
            Record::Delete(b"s1".to_vec()),
            Record::Put(b"q1".to_vec(), b"second".to_vec()),
        ]
    }

    fn replayed(checked: &Checked) -> Vec<Record> {
        let mut out = Vec::new();
        checked
            .replay(
                |r| {
                    out.push(r);
                    Ok(())
                },
                &|_| {},
            )
            .unwrap();
        out
    }

    #[test]
    fn a_backup_replays_its_records_in_order() {
        let (dir, manifest) = backup(&sample());
        assert_eq!(manifest.records, 4);
        let checked = check(dir.path(), 3).unwrap();
        assert_eq!(checked.manifest(), &manifest);
        assert_eq!(replayed(&checked), sample());
    }

    #[test]
    fn every_flipped_byte_of_the_data_file_is_refused_as_damaged() {
        let (dir, _) = backup(&sample());
        let path = dir.path().join(DATA_FILE);
        let original = std::fs::read(&path).unwrap();
        for at in 0..original.len() {
            let mut bytes = original.clone();
            bytes[at] ^= 0x20;
            std::fs::write(&path, &bytes).unwrap();
            let err = check(dir.path(), 3).unwrap_err();
            assert!(
                matches!(err, BackupError::Damaged { .. }),
                "byte {at}: {err}"
            );
            assert!(err.to_string().contains("use another backup"), "{err}");
        }
    }

    #[test]
    fn a_cut_off_data_file_is_refused_as_damaged() {
        let (dir, _) = backup(&sample());
        let path = dir.path().join(DATA_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let err = check(dir.path(), 3).unwrap_err().to_string();
        assert!(err.contains("ends early"), "{err}");
    }

    #[test]
    fn a_directory_without_a_manifest_is_not_a_finished_backup() {
        let (dir, _) = backup(&sample());
        std::fs::remove_file(dir.path().join(MANIFEST_FILE)).unwrap();
        let err = check(dir.path(), 3).unwrap_err();
        assert!(matches!(err, BackupError::NoManifest { .. }), "{err}");
    }

    #[test]
    fn a_newer_store_format_is_refused_with_the_version_to_use() {
        let (dir, _) = backup(&sample());
        let err = check(dir.path(), 2).unwrap_err().to_string();
        assert!(err.contains("store format 3"), "{err}");
        assert!(err.contains(env!("CARGO_PKG_VERSION")), "{err}");
    }

    #[test]
    fn a_damaged_length_is_refused_before_it_is_allocated() {
        let (dir, _) = backup(&sample());
        let path = dir.path().join(DATA_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        // The first record's key length, right after the header and tag.
        bytes[13..17].copy_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = check(dir.path(), 3).unwrap_err().to_string();
        assert!(err.contains("at most"), "{err}");
    }

    #[test]
    fn only_an_absent_or_empty_directory_counts_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        ensure_empty(dir.path(), "x").unwrap();
        ensure_empty(&dir.path().join("absent"), "x").unwrap();
        std::fs::write(dir.path().join("f"), b"").unwrap();
        let err = ensure_empty(dir.path(), "choose another").unwrap_err();
        assert!(err.to_string().contains("choose another"), "{err}");
    }
}
