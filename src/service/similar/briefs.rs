//! The briefs of recently listed similar questions, kept in memory: every
//! listing shows its best five matches, and reading each from the store
//! (a sled lookup and a JSON record) was a fifth of a classification's
//! CPU. Changes reach the cache through the service's announcements, so a
//! listing never shows a status or answer older than the last change.

use crate::store::{QuestionBrief, QuestionId, StoreError};
use quick_cache::sync::{Cache, EntryAction};
use quick_cache::Weighter;

/// Memory the cache may hold: a few thousand briefs.
const CAPACITY_BYTES: u64 = 16 << 20;

/// Weighs a brief by what it holds, so long answers take their share.
#[derive(Clone)]
struct BriefWeight;

impl Weighter<u64, QuestionBrief> for BriefWeight {
    fn weight(&self, _: &u64, brief: &QuestionBrief) -> u64 {
        let answer = brief.answer.as_ref().map_or(0, |a| a.text.len());
        (brief.text.len() + brief.portal.len() + answer + 96) as u64
    }
}

/// Briefs by question id.
pub(in crate::service) struct Briefs {
    cache: Cache<u64, QuestionBrief, BriefWeight>,
}

impl Briefs {
    /// An empty cache.
    pub(in crate::service) fn new() -> Briefs {
        Briefs {
            cache: Cache::with_weighter(32_768, CAPACITY_BYTES, BriefWeight),
        }
    }

    /// The brief of `id`, from memory or read with `load`. A load holds a
    /// placeholder while it reads, so a change announced meanwhile waits
    /// for it and then replaces what it read.
    pub(in crate::service) fn get(
        &self,
        id: QuestionId,
        load: impl FnOnce() -> Result<QuestionBrief, StoreError>,
    ) -> Result<QuestionBrief, StoreError> {
        self.cache.get_or_insert_with(&id.get(), load)
    }

    /// Takes in a changed question's brief. Announcements of two changes
    /// may arrive out of order; the newer version stays.
    pub(in crate::service) fn changed(&self, brief: QuestionBrief) {
        let id = brief.id.get();
        let newer = brief.version;
        // A brief that is not cached needs nothing: the next listing reads
        // it. One that is being read waits here until the read is in.
        let _ = self.cache.entry(&id, None, |_, cached| {
            if cached.version < newer {
                *cached = brief;
            }
            EntryAction::Retain(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn brief(id: u64, version: u64, status: Status) -> QuestionBrief {
        QuestionBrief {
            id: QuestionId::new(id),
            text: "Hoe kopen we circulair in?".into(),
            status,
            portal: String::new(),
            answer: None,
            version,
        }
    }

    #[test]
    fn a_cached_brief_is_read_once_and_follows_announced_changes() {
        let b = Briefs::new();
        let first = b.get(QuestionId::new(7), || Ok(brief(7, 1, Status::Triage)));
        assert_eq!(first.unwrap().status, Status::Triage);
        // Cached: the loader is not called again.
        let again = b.get(QuestionId::new(7), || panic!("read twice"));
        assert_eq!(again.unwrap().version, 1);
        b.changed(brief(7, 3, Status::Answered));
        // An older announcement arriving late does not win.
        b.changed(brief(7, 2, Status::Routed));
        let now = b.get(QuestionId::new(7), || panic!("read twice")).unwrap();
        assert_eq!((now.version, now.status), (3, Status::Answered));
    }

    #[test]
    fn a_failed_read_is_not_cached() {
        let b = Briefs::new();
        let missing = b.get(QuestionId::new(9), || {
            Err(StoreError::NotFound(QuestionId::new(9)))
        });
        assert!(missing.is_err());
        let found = b.get(QuestionId::new(9), || Ok(brief(9, 1, Status::Triage)));
        assert_eq!(found.unwrap().version, 1);
    }
}
