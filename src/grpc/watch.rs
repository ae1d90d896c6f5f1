//! The `WatchEvents` stream: status events from the service's broadcast,
//! filtered per watcher, ended when the server shuts down (an open stream
//! would otherwise keep the graceful shutdown waiting forever).

use super::convert;
use super::proto;
use crate::service::{EventFilter, QuestionEvent};
use std::pin::Pin;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

/// Events a slow client may have in flight before the server waits.
const CLIENT_BUFFER: usize = 256;

/// The stream of one watcher.
pub fn stream(
    mut events: broadcast::Receiver<QuestionEvent>,
    filter: EventFilter,
    mut shutdown: watch::Receiver<bool>,
    place: super::load::WatchPlace,
) -> Pin<Box<dyn Stream<Item = Result<proto::QuestionEvent, Status>> + Send + 'static>> {
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(async move {
        // The watcher's place is given back when this task ends: when the
        // client goes away, falls behind or the server shuts down.
        let _place = place;
        if *shutdown.borrow() {
            return;
        }
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tx.closed() => break,
                received = events.recv() => match received {
                    Ok(event) => {
                        if !filter.matches(&event) {
                            continue;
                        }
                        // A client that stopped reading must not keep the
                        // stream (and the shutdown) waiting.
                        tokio::select! {
                            sent = tx.send(Ok(message(&event))) => if sent.is_err() { break },
                            _ = shutdown.changed() => break,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        // Saying so beats silently skipping: the client
                        // re-reads what it shows and watches again.
                        let _ = tx
                            .send(Err(Status::resource_exhausted(format!(
                                "this watcher fell behind and missed {missed} events: read the questions you show again, then watch again"
                            ))))
                            .await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

fn message(e: &QuestionEvent) -> proto::QuestionEvent {
    proto::QuestionEvent {
        question_id: e.question.to_string(),
        time: Some(convert::timestamp(e.at_ms)),
        action: convert::action_to_proto(e.action),
        from_status: e.from.map_or(0, convert::status_to_proto),
        to_status: convert::status_to_proto(e.to),
        category: e.category.map_or(0, convert::category_to_proto),
        provider_id: e
            .provider
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        expert_id: e
            .expert
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        actor: e.actor.clone(),
        etag: convert::etag_of(e.version),
        on_behalf_of: e.on_behalf_of.clone().unwrap_or_default(),
    }
}
