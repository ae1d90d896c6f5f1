//! The lifecycle of a question: its statuses, the actions that move it and
//! the transitions of `domain.md`, and no others.
//!
//! ```text
//! RECEIVED    -> ROUTED | TRIAGE
//! TRIAGE      -> ROUTED | REJECTED | DUPLICATE
//! ROUTED      -> IN_PROGRESS | TRIAGE (declined)
//! IN_PROGRESS -> WAITING -> IN_PROGRESS
//! IN_PROGRESS -> ANSWERED -> CLOSED
//! ANSWERED | CLOSED -> REOPENED -> ROUTED | TRIAGE
//! ```

use std::fmt;
use std::str::FromStr;

use super::UnknownValue;

/// Where a question is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Just submitted; never stays here after the submit completes.
    Received,
    /// Waiting for the core team.
    Triage,
    /// Assigned to a provider or expert who has not accepted yet.
    Routed,
    /// Accepted by the assignee.
    InProgress,
    /// Waiting on the asker; the answer clock pauses.
    Waiting,
    /// Answered.
    Answered,
    /// Closed after the answer.
    Closed,
    /// Reopened after an answer; to be routed again.
    Reopened,
    /// Refused by the core team.
    Rejected,
    /// The same as an earlier question.
    Duplicate,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 10] = [
        Status::Received,
        Status::Triage,
        Status::Routed,
        Status::InProgress,
        Status::Waiting,
        Status::Answered,
        Status::Closed,
        Status::Reopened,
        Status::Rejected,
        Status::Duplicate,
    ];

    /// The canonical upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "RECEIVED",
            Status::Triage => "TRIAGE",
            Status::Routed => "ROUTED",
            Status::InProgress => "IN_PROGRESS",
            Status::Waiting => "WAITING",
            Status::Answered => "ANSWERED",
            Status::Closed => "CLOSED",
            Status::Reopened => "REOPENED",
            Status::Rejected => "REJECTED",
            Status::Duplicate => "DUPLICATE",
        }
    }

    /// A stable one-byte code, used in storage keys.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status of a storage code.
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code)).copied()
    }

    /// Whether the question still needs work (everything but answered,
    /// closed, rejected and duplicate).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::Answered | Status::Closed | Status::Rejected | Status::Duplicate
        )
    }

    /// The actions allowed in this status.
    pub fn allowed_actions(self) -> Vec<ActionKind> {
        ActionKind::ALL
            .iter()
            .copied()
            .filter(|a| a.target_from(self).is_some())
            .collect()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("STATUS_").unwrap_or(&upper);
        Status::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == bare)
            .ok_or_else(|| UnknownValue {
                what: "status",
                given: super::input::quoted(s),
                allowed: Status::ALL.map(Status::as_str).join(", "),
            })
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The kinds of action that move a question (without their data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionKind {
    /// Assign to a provider or expert (automatically or by the core team).
    Route,
    /// Send to the core team's queue.
    Triage,
    /// Refuse the question.
    Reject,
    /// Link to an earlier question that asks the same.
    MarkDuplicate,
    /// The assignee takes the question on.
    Accept,
    /// The assignee gives it back, with a reason.
    Decline,
    /// Wait for the asker; the answer clock pauses.
    WaitForAsker,
    /// The asker replied; the clock runs again.
    Resume,
    /// Give the answer.
    Answer,
    /// Close after the answer.
    Close,
    /// Open an answered or closed question again.
    Reopen,
    /// Confirm or replace the answer when it is due for review. Not a
    /// transition: the question stays ANSWERED or CLOSED.
    ReviewAnswer,
}

impl ActionKind {
    /// Every action.
    pub const ALL: [ActionKind; 12] = [
        ActionKind::Route,
        ActionKind::Triage,
        ActionKind::Reject,
        ActionKind::MarkDuplicate,
        ActionKind::Accept,
        ActionKind::Decline,
        ActionKind::WaitForAsker,
        ActionKind::Resume,
        ActionKind::Answer,
        ActionKind::Close,
        ActionKind::Reopen,
        ActionKind::ReviewAnswer,
    ];

    /// The status this action leads to from `from`, or `None` when the
    /// lifecycle does not allow it there. This table is the lifecycle.
    pub fn target_from(self, from: Status) -> Option<Status> {
        use ActionKind as A;
        use Status as S;
        match (from, self) {
            (S::Received | S::Triage | S::Reopened, A::Route) => Some(S::Routed),
            (S::Received | S::Reopened, A::Triage) => Some(S::Triage),
            (S::Triage, A::Reject) => Some(S::Rejected),
            (S::Triage, A::MarkDuplicate) => Some(S::Duplicate),
            (S::Routed, A::Accept) => Some(S::InProgress),
            (S::Routed, A::Decline) => Some(S::Triage),
            (S::InProgress, A::WaitForAsker) => Some(S::Waiting),
            (S::Waiting, A::Resume) => Some(S::InProgress),
            (S::InProgress, A::Answer) => Some(S::Answered),
            (S::Answered, A::Close) => Some(S::Closed),
            (S::Answered | S::Closed, A::Reopen) => Some(S::Reopened),
            (S::Answered, A::ReviewAnswer) => Some(S::Answered),
            (S::Closed, A::ReviewAnswer) => Some(S::Closed),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Route => "ROUTE",
            ActionKind::Triage => "TRIAGE",
            ActionKind::Reject => "REJECT",
            ActionKind::MarkDuplicate => "MARK_DUPLICATE",
            ActionKind::Accept => "ACCEPT",
            ActionKind::Decline => "DECLINE",
            ActionKind::WaitForAsker => "WAIT_FOR_ASKER",
            ActionKind::Resume => "RESUME",
            ActionKind::Answer => "ANSWER",
            ActionKind::Close => "CLOSE",
            ActionKind::Reopen => "REOPEN",
            ActionKind::ReviewAnswer => "REVIEW_ANSWER",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action was attempted in a status that does not allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot {action} a question that is {current}: allowed now: {}",
    list(allowed)
)]
pub struct IllegalTransition {
    /// The question's current status.
    pub current: Status,
    /// The action attempted.
    pub action: ActionKind,
    /// The actions the current status allows.
    pub allowed: Vec<ActionKind>,
}

fn list(actions: &[ActionKind]) -> String {
    if actions.is_empty() {
        "nothing (the question is final)".to_string()
    } else {
        actions
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The status `action` leads to from `current`, or the error naming the
/// current status and what it allows.
pub fn transition(current: Status, action: ActionKind) -> Result<Status, IllegalTransition> {
    action
        .target_from(current)
        .ok_or_else(|| IllegalTransition {
            current,
            action,
            allowed: current.allowed_actions(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lifecycle of domain.md as (from, to) pairs.
    const LEGAL: &[(Status, Status)] = &[
        (Status::Received, Status::Routed),
        (Status::Received, Status::Triage),
        (Status::Triage, Status::Routed),
        (Status::Triage, Status::Rejected),
        (Status::Triage, Status::Duplicate),
        (Status::Routed, Status::InProgress),
        (Status::Routed, Status::Triage),
        (Status::InProgress, Status::Waiting),
        (Status::Waiting, Status::InProgress),
        (Status::InProgress, Status::Answered),
        (Status::Answered, Status::Closed),
        (Status::Answered, Status::Reopened),
        (Status::Closed, Status::Reopened),
        (Status::Reopened, Status::Routed),
        (Status::Reopened, Status::Triage),
    ];

    #[test]
    fn every_legal_transition_of_the_domain_is_allowed_and_no_other() {
        for from in Status::ALL {
            for action in ActionKind::ALL {
                if let Some(to) = action.target_from(from) {
                    // A review changes the answer, never the status.
                    if action == ActionKind::ReviewAnswer {
                        assert_eq!(to, from);
                        continue;
                    }
                    assert!(
                        LEGAL.contains(&(from, to)),
                        "{from} --{action}--> {to} is not in domain.md"
                    );
                }
            }
        }
        for &(from, to) in LEGAL {
            assert!(
                ActionKind::ALL
                    .iter()
                    .any(|a| a.target_from(from) == Some(to)),
                "{from} -> {to} has no action"
            );
        }
    }

    #[test]
    fn an_illegal_transition_names_the_current_state_and_the_allowed_actions() {
        let err = transition(Status::Closed, ActionKind::Accept).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("CLOSED"), "{msg}");
        assert!(msg.contains("REOPEN"), "{msg}");
        let err = transition(Status::Rejected, ActionKind::Reopen).unwrap_err();
        assert!(err.to_string().contains("final"), "{err}");
    }

    #[test]
    fn statuses_round_trip_through_their_names_and_codes() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(
            "STATUS_IN_PROGRESS".parse::<Status>(),
            Ok(Status::InProgress)
        );
    }
}
