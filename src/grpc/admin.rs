//! `AdminService`: the online backup, streamed to the caller in chunks as
//! the store writes it. The snapshot runs on a blocking thread; a client
//! that reads slowly slows the copy (the chunks in flight are bounded),
//! never the writers, and one that goes away or a server that shuts down
//! ends it.

use super::status::from_service;
use super::{convert, proto, Api};
use crate::store::backup::{BackupWriter, Manifest};
use proto::admin_service_server::AdminService;
use std::io;
use std::pin::Pin;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Bytes per streamed chunk: large enough that framing costs nothing,
/// far below the 4 MiB message limit of clients.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks buffered for a slow client before the copy waits.
const CHUNKS_IN_FLIGHT: usize = 4;

type Chunks = Pin<Box<dyn Stream<Item = Result<proto::BackupChunk, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl AdminService for Api {
    type BackupStream = Chunks;

    async fn backup(
        &self,
        _request: Request<proto::BackupRequest>,
    ) -> Result<Response<Chunks>, Status> {
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let service = self.service.clone();
        let mut out = ChunkSender {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK_BYTES),
            shutdown: self.shutdown.clone(),
            stopped: false,
        };
        tokio::task::spawn_blocking(move || {
            let taken = (|| {
                let mut writer = BackupWriter::new(&mut out)?;
                let stats = service.backup(&mut writer)?;
                Ok::<_, crate::service::ServiceError>(writer.finish(&stats)?)
            })();
            let last = match taken {
                Ok(manifest) => Ok(proto::BackupChunk {
                    data: Vec::new(),
                    summary: Some(summary(&manifest)),
                }),
                Err(_) if out.stopped => Err(Status::unavailable(
                    "the server is shutting down: take the backup again once it is back",
                )),
                Err(e) => Err(from_service(e)),
            };
            // Fails only when the client went away: nobody to tell.
            let _ = tx.blocking_send(last);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// The backup's manifest as the stream's last message.
fn summary(m: &Manifest) -> proto::BackupSummary {
    proto::BackupSummary {
        backup_format: m.backup_format,
        store_format: m.store_format,
        records: m.records,
        bytes: m.bytes,
        sha256: m.sha256.clone(),
        taken: Some(convert::timestamp(m.taken_ms)),
        pause: Some(convert::duration(m.pause_ms)),
        rounds: m.rounds,
        questions: m.questions,
        kicer_version: m.kicer_version.clone(),
    }
}

/// The backup file as a stream of chunks.
struct ChunkSender {
    tx: mpsc::Sender<Result<proto::BackupChunk, Status>>,
    buf: Vec<u8>,
    shutdown: watch::Receiver<bool>,
    /// The server began shutting down, which ended the backup.
    stopped: bool,
}

impl ChunkSender {
    fn send(&mut self) -> io::Result<()> {
        if *self.shutdown.borrow() {
            self.stopped = true;
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the server is shutting down",
            ));
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(proto::BackupChunk {
                data,
                summary: None,
            }))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the client stopped reading the backup",
                )
            })
    }
}

impl io::Write for ChunkSender {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            self.send()
        }
    }
}
