//! Insights for the national level and the core team: knowledge gaps,
//! lead times, queue ages, and the review dates of answers.

use super::paging::for_each_page;
use super::{Request, Service, ServiceError};
use crate::domain::input::{AnswerText, Reason};
use crate::domain::worktime::{self, month_text};
use crate::domain::{Category, OrganizationType, Status, ThemeId};
use crate::store::{
    AnswerReview, Dimension, LeadTimeGroup, LeadTimeQuery, ListFilter, OpenAge, Page, PageRequest,
    Question, QuestionId,
};
use std::collections::BTreeMap;

/// Review period of answers whose themes say nothing.
pub const DEFAULT_REVIEW_MONTHS: u32 = 24;

/// A cluster of recurring questions the knowledge infrastructure does not
/// serve well yet: same main theme and category, asked several times,
/// without a confident provider or without an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeGap {
    /// Main theme of the questions (`None`: no theme found).
    pub theme: Option<ThemeId>,
    /// Category in force.
    pub category: Option<Category>,
    /// Questions in the cluster that are a gap.
    pub questions: u32,
    /// Of these, without an answer yet.
    pub unanswered: u32,
    /// Of these, without a confident category and provider.
    pub unconfident: u32,
    /// Who asks: organisation type and count, most first.
    pub organization_types: Vec<(OrganizationType, u32)>,
    /// Up to three example questions, oldest first.
    pub examples: Vec<Question>,
}

impl Service {
    /// Clusters (main theme × category) of at least `min_questions`
    /// questions submitted in `[from_ms, to_ms)` that are still unanswered
    /// or had no confident provider, largest first: where the national
    /// level should plan workshops and new knowledge. Reads the questions
    /// of the period through the time index.
    pub fn knowledge_gaps(
        &self,
        from_ms: i64,
        to_ms: i64,
        min_questions: u32,
    ) -> Result<Vec<KnowledgeGap>, ServiceError> {
        type Key = (Option<ThemeId>, Option<Category>);
        let mut clusters: BTreeMap<Key, KnowledgeGap> = BTreeMap::new();
        let filter = ListFilter {
            submitted_from_ms: Some(from_ms),
            submitted_to_ms: Some(to_ms),
            ..ListFilter::default()
        };
        let mut count = |q: Question| {
            if matches!(q.status, Status::Rejected | Status::Duplicate) {
                return;
            }
            let unanswered = q.answer.is_none();
            let unconfident = q.classification.category.is_none()
                || q.classification.confidence < self.policy.min_confidence
                || q.classification.providers.is_empty();
            if !unanswered && !unconfident {
                return;
            }
            let key = (q.classification.themes.first().cloned(), q.category);
            let gap = clusters.entry(key.clone()).or_insert_with(|| KnowledgeGap {
                theme: key.0,
                category: key.1,
                questions: 0,
                unanswered: 0,
                unconfident: 0,
                organization_types: Vec::new(),
                examples: Vec::new(),
            });
            gap.questions += 1;
            gap.unanswered += u32::from(unanswered);
            gap.unconfident += u32::from(unconfident);
            match gap
                .organization_types
                .iter_mut()
                .find(|(t, _)| *t == q.organization_type)
            {
                Some((_, n)) => *n += 1,
                None => gap.organization_types.push((q.organization_type, 1)),
            }
            if gap.examples.len() < 3 {
                gap.examples.push(q);
            }
        };
        for_each_page(
            |page| self.store.list(&filter, page),
            |items| items.into_iter().for_each(&mut count),
        )?;
        let mut gaps: Vec<KnowledgeGap> = clusters
            .into_values()
            .filter(|g| g.questions >= min_questions.max(1))
            .collect();
        for g in &mut gaps {
            g.organization_types
                .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        gaps.sort_by(|a, b| {
            b.questions
                .cmp(&a.questions)
                .then(b.unanswered.cmp(&a.unanswered))
        });
        Ok(gaps)
    }

    /// The start of a month (`yyyymm`) in Dutch time, in ms.
    pub fn month_start_ms(month: u32) -> Option<i64> {
        worktime::month_start_ms(month)
    }

    /// When an answer given now should be reviewed by default: after the
    /// shortest review period of the question's themes (regulation and
    /// funding change faster), or [`DEFAULT_REVIEW_MONTHS`].
    pub fn default_review_after(&self, question: &Question) -> i64 {
        let taxonomy = self.engine.taxonomy();
        let months = question
            .classification
            .themes
            .iter()
            .filter_map(|t| taxonomy.theme(t).map(|d| d.review_months()))
            .min()
            .unwrap_or(DEFAULT_REVIEW_MONTHS);
        worktime::add_months(self.time.now_ms(), months)
    }

    /// Confirms (`replace: None`) or replaces the answer of an answered
    /// question, with its next review date (the themes' default when not
    /// given); recorded in the history and announced.
    pub fn review_answer(
        &self,
        id: QuestionId,
        replace: Option<(AnswerText, Vec<String>)>,
        review_after_ms: Option<i64>,
        request: Request,
    ) -> Result<Question, ServiceError> {
        let review_after_ms = match review_after_ms {
            Some(at) => at,
            None => self.default_review_after(&self.store.get(id)?),
        };
        let question = self.store.review_answer(
            id,
            AnswerReview {
                replace: replace.map(|(t, s)| (t.into_string(), s)),
                review_after_ms: Some(review_after_ms),
                actor: request.actor,
                reason: request.reason.map(Reason::into_string),
                expected_version: request.expected_version,
            },
        )?;
        self.announce(&question, false, None);
        Ok(question)
    }

    /// Answered questions whose review date has passed (or passes before
    /// `at_ms`), earliest first, paged.
    pub fn due_for_review(
        &self,
        at_ms: Option<i64>,
        page: &PageRequest,
    ) -> Result<Page<Question>, ServiceError> {
        Ok(self
            .store
            .due_for_review(at_ms.unwrap_or_else(|| self.time.now_ms()), page)?)
    }

    /// Lead-time percentiles; `groups` keeps only the named groups.
    pub fn lead_times(
        &self,
        query: &LeadTimeQuery,
        groups: &[String],
    ) -> Result<Vec<LeadTimeGroup>, ServiceError> {
        if query.from_month > query.to_month {
            return Err(ServiceError::Invalid(format!(
                "from_month {} is after to_month {}: swap them",
                month_text(query.from_month),
                month_text(query.to_month)
            )));
        }
        let mut out = self.store.lead_times(query)?;
        if query.group_by == Dimension::Month {
            // Stored as yyyymm; the API speaks YYYY-MM.
            for g in &mut out {
                if let Ok(m) = g.group.parse::<u32>() {
                    g.group = month_text(m);
                }
            }
        }
        if !groups.is_empty() {
            out.retain(|g| groups.iter().any(|w| w.eq_ignore_ascii_case(&g.group)));
        }
        Ok(out)
    }

    /// The month (`yyyymm`) of now and of eleven months before: the default
    /// lead-time range.
    pub fn last_twelve_months(&self) -> (u32, u32) {
        let to = worktime::month_of(self.time.now_ms());
        (worktime::shift_month(to, -11), to)
    }

    /// Open questions per status (and category) with ages.
    pub fn queue_stats(&self) -> Result<Vec<OpenAge>, ServiceError> {
        Ok(self.store.open_ages()?)
    }
}
