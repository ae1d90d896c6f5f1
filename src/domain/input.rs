//! Free-text values a caller sends, validated once at the edge: after
//! parsing, a `QuestionText` is known to be non-blank and within the limit,
//! so nothing further in must check again.

/// Most characters a question may have. Longer texts are almost always a
/// pasted document; the engine's scores are not meant for those.
pub const MAX_QUESTION_CHARS: usize = 10_000;
/// Most characters an answer may have.
pub const MAX_ANSWER_CHARS: usize = 100_000;
/// Most characters of a reason, name, portal, actor or source.
pub const MAX_SHORT_CHARS: usize = 1_000;
/// Most characters of a request id.
pub const MAX_REQUEST_ID_CHARS: usize = 200;
/// Most sources an answer may list.
pub const MAX_SOURCES: usize = 50;

/// Why a text value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Required and empty (or only white space).
    #[error("{field} is empty: give a {field}")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// Over the limit.
    #[error("{field} has {chars} characters, more than the {max} allowed: shorten it")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// Contains a character that is not allowed.
    #[error("{field} contains control characters: send printable text only")]
    Control {
        /// The field.
        field: &'static str,
    },
}

fn checked(field: &'static str, text: &str, max: usize) -> Result<String, InputError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InputError::Empty { field });
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(InputError::TooLong { field, chars, max });
    }
    Ok(trimmed.to_string())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Validates the text: trimmed, not empty, within the limit.
            pub fn parse(text: &str) -> Result<Self, InputError> {
                checked($field, text, $max).map($name)
            }
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The validated text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }
    };
}

text_type!(
    /// The text of a question.
    QuestionText, "text", MAX_QUESTION_CHARS
);
text_type!(
    /// The text of an answer.
    AnswerText, "answer", MAX_ANSWER_CHARS
);
text_type!(
    /// Why something was done (decline, reject…).
    Reason, "reason", MAX_SHORT_CHARS
);
text_type!(
    /// The name of an organisation.
    OrganizationName, "organization_name", MAX_SHORT_CHARS
);

/// A client's idempotency key: printable, at most
/// [`MAX_REQUEST_ID_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Validates a request id.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let field = "request_id";
        let text = checked(field, text, MAX_REQUEST_ID_CHARS)?;
        if text.chars().any(char::is_control) {
            return Err(InputError::Control { field });
        }
        Ok(RequestId(text))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional short text (portal, actor, a reason that may be left out):
/// empty means absent, anything else must fit [`MAX_SHORT_CHARS`].
pub fn optional_short(field: &'static str, text: &str) -> Result<Option<String>, InputError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    checked(field, text, MAX_SHORT_CHARS).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_text_is_trimmed_and_must_not_be_blank() {
        assert_eq!(QuestionText::parse("  Hoe?  ").unwrap().as_str(), "Hoe?");
        assert_eq!(
            QuestionText::parse(" \n\t"),
            Err(InputError::Empty { field: "text" })
        );
    }

    #[test]
    fn texts_over_the_limit_are_refused_with_their_length() {
        let long = "é".repeat(MAX_QUESTION_CHARS + 1);
        let err = QuestionText::parse(&long).unwrap_err();
        assert_eq!(
            err,
            InputError::TooLong {
                field: "text",
                chars: MAX_QUESTION_CHARS + 1,
                max: MAX_QUESTION_CHARS
            }
        );
        assert!(err.to_string().contains("shorten"));
        assert!(QuestionText::parse(&"é".repeat(MAX_QUESTION_CHARS)).is_ok());
    }

    #[test]
    fn request_ids_refuse_control_characters() {
        assert!(RequestId::parse("portal-a/123").is_ok());
        assert_eq!(
            RequestId::parse("a\u{0}b"),
            Err(InputError::Control {
                field: "request_id"
            })
        );
    }

    #[test]
    fn optional_short_texts_treat_blank_as_absent() {
        assert_eq!(optional_short("portal", "  "), Ok(None));
        assert_eq!(optional_short("portal", " p "), Ok(Some("p".into())));
        assert!(optional_short("portal", &"x".repeat(MAX_SHORT_CHARS + 1)).is_err());
    }
}
