//! Free-text values a caller sends, validated once at the edge: after
//! parsing, a `QuestionText` is known to have a visible character, no
//! character that steers a terminal or reorders text, and to be within the
//! limit, so nothing further in must check again.
//!
//! The rules, shared by every client-supplied text through [`text`]:
//! - white space around the text is trimmed, nothing else is changed;
//! - a text with no visible character (only white space, zero-width or
//!   other default-ignorable characters, control characters such as NUL)
//!   is [`InputError::Empty`];
//! - a control character (Unicode category Cc, C0 and C1) other than
//!   newline and tab, or a bidi embedding, override or isolate
//!   (U+202A–U+202E, U+2066–U+2069), is [`InputError::Control`]. Those
//!   are what turns stored text into a terminal escape sequence or shows
//!   it in another order than it is read.
//!
//! Other format characters (category Cf) are allowed inside a text: the
//! zero-width joiner and non-joiner are part of emoji and of Persian and
//! Indic spelling, the soft hyphen and the left-to-right/right-to-left
//! marks are in ordinary pasted text, and none of them can move or hide
//! the text around it. They do not count as visible, though, so a text
//! made of them alone is refused as empty.

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
    /// Required and empty, or with no visible character.
    #[error("{field} is empty or has no visible character (only white space, zero-width or control characters): write the {field} in visible characters")]
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
    #[error("{field} contains control characters (such as ESC, NUL or a bidi override): send printable text only; newline and tab are allowed")]
    Control {
        /// The field.
        field: &'static str,
    },
}

/// Bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069): they show the text after them in another order than it
/// is stored, so a reader can be shown something else than what is there.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a client's text may not hold `c`: a control character other
/// than newline and tab, or a bidi control ([`is_bidi_control`]).
pub fn is_refused(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Whether `c` shows nothing by itself: white space, control characters,
/// Unicode's default-ignorable code points (zero-width space and joiners,
/// word joiner, BOM, variation selectors, tags, Hangul fillers…) and the
/// blank braille pattern, a favourite for names that look empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// A client's text under the rules of this module: trimmed, with a
/// visible character, at most `max` characters, no refused character.
/// Every free text a client sends goes through here (or through a type
/// built on it), so the rules cannot differ between fields.
pub fn text(field: &'static str, text: &str, max: usize) -> Result<String, InputError> {
    let trimmed = text.trim();
    if trimmed.chars().all(is_invisible) {
        return Err(InputError::Empty { field });
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(InputError::TooLong { field, chars, max });
    }
    if trimmed.chars().any(is_refused) {
        return Err(InputError::Control { field });
    }
    Ok(trimmed.to_string())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Validates the text under the rules of [`text`].
            pub fn parse(text: &str) -> Result<Self, InputError> {
                $crate::domain::input::text($field, text, $max).map($name)
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
        let text = self::text(field, text, MAX_REQUEST_ID_CHARS)?;
        // Stricter than other texts: an id is one line, so no newline or
        // tab either.
        if text.chars().any(|c| c.is_control() || is_refused(c)) {
            return Err(InputError::Control { field });
        }
        Ok(RequestId(text))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional text: empty or white space means absent, anything else
/// follows the rules of [`text`] within `max` (so a value of zero-width
/// characters alone is refused, not taken as absent: the client sent
/// something, and it is not what it thinks).
pub fn optional(field: &'static str, text: &str, max: usize) -> Result<Option<String>, InputError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    self::text(field, text, max).map(Some)
}

/// An optional short text (portal, actor, a reason that may be left out):
/// [`optional`] within [`MAX_SHORT_CHARS`].
pub fn optional_short(field: &'static str, text: &str) -> Result<Option<String>, InputError> {
    optional(field, text, MAX_SHORT_CHARS)
}

/// Checks the texts of a directory record (expert, provider): the name
/// under [`text`], every other text under [`optional`], none with a
/// length limit of its own (the records never had one, and the message
/// size limits them). A check, not a conversion: the records are trimmed
/// where they are built.
pub fn check_record<'a>(
    name: (&'static str, &str),
    others: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Result<(), InputError> {
    text(name.0, name.1, usize::MAX)?;
    for (field, value) in others {
        optional(field, value, usize::MAX)?;
    }
    Ok(())
}
/// Every text of a list, named by the list's field, for [`check_record`].
pub fn each<'a>(
    field: &'static str,
    list: &'a [String],
) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
    list.iter().map(move |s| (field, s.as_str()))
}

/// Most characters of a client's value that an error message quotes.
pub const MAX_QUOTED_CHARS: usize = 40;

/// A client-supplied value as an error message quotes it: at most
/// [`MAX_QUOTED_CHARS`] characters (then `…`), control and other invisible
/// characters escaped. Messages travel in gRPC metadata and into logs and
/// terminals, so a client's text is never echoed whole or raw.
pub fn quoted(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_QUOTED_CHARS)
        .flat_map(|c| {
            let escape = c.is_control() || is_refused(c) || (is_invisible(c) && c != ' ');
            let shown: Vec<char> = if escape {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect();
    if text.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_quoted_value_is_short_and_shows_its_control_characters() {
        assert_eq!(quoted("2026-3"), "2026-3");
        assert_eq!(quoted("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(quoted("x\u{200b}"), "x\\u{200b}");
        let long = "é".repeat(100_000);
        let q = quoted(&long);
        assert_eq!(q.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(q.ends_with('…'));
    }

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

    #[test]
    fn a_question_of_nul_characters_is_refused_as_empty() {
        let err = QuestionText::parse("\u{0}\u{0}\u{0}").unwrap_err();
        assert_eq!(err, InputError::Empty { field: "text" });
        assert!(err.to_string().contains("no visible character"), "{err}");
    }

    #[test]
    fn a_question_of_zero_width_characters_is_refused_as_empty() {
        for invisible in [
            "\u{200B}",
            "\u{200C}\u{200D}",
            " \u{2060} ",
            "\u{FEFF}",
            "\u{2800}\u{3164}",
            "\u{FE0F}\u{E0041}",
        ] {
            assert_eq!(
                QuestionText::parse(invisible),
                Err(InputError::Empty { field: "text" }),
                "{invisible:?}"
            );
        }
    }

    #[test]
    fn terminal_escape_sequences_are_refused_as_control_characters() {
        for evil in [
            "Hoe?\u{1b}]0;pwned\u{7}",
            "\u{1b}[2JHoe?",
            "\u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\",
            "Hoe\r?",
            "Hoe\u{7f}?",
            "Hoe\u{9b}2J?",
        ] {
            assert_eq!(
                QuestionText::parse(evil),
                Err(InputError::Control { field: "text" }),
                "{evil:?}"
            );
        }
    }

    #[test]
    fn bidi_overrides_and_isolates_are_refused_in_an_organisation_name() {
        for evil in ["Gemeente \u{202E}elowZ", "Gemeente \u{2066}Zwolle\u{2069}"] {
            assert_eq!(
                OrganizationName::parse(evil),
                Err(InputError::Control {
                    field: "organization_name"
                }),
                "{evil:?}"
            );
        }
    }

    #[test]
    fn newline_tab_and_joiners_inside_a_text_are_kept_as_given() {
        let text = "Regel één\n\tmet 👩\u{200D}💻 en zach\u{AD}te af\u{200E}breking";
        assert_eq!(AnswerText::parse(text).unwrap().as_str(), text);
    }

    #[test]
    fn refusals_name_the_field_and_say_what_to_send() {
        let err = Reason::parse("te\u{1b}[31m druk").unwrap_err().to_string();
        assert!(
            err.starts_with("reason contains control characters"),
            "{err}"
        );
        assert!(err.contains("printable text only"), "{err}");
        let err = Reason::parse("\u{200B}").unwrap_err().to_string();
        assert!(err.starts_with("reason is empty"), "{err}");
    }

    #[test]
    fn optional_short_texts_follow_the_same_rules() {
        assert_eq!(
            optional_short("actor", "anna\u{1b}[2J"),
            Err(InputError::Control { field: "actor" })
        );
        assert_eq!(
            optional_short("portal", "\u{200B}"),
            Err(InputError::Empty { field: "portal" })
        );
    }

    #[test]
    fn request_ids_are_one_line() {
        assert_eq!(
            RequestId::parse("a\nb"),
            Err(InputError::Control {
                field: "request_id"
            })
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_string_is_parsed_or_refused_without_panicking(s in any::<String>()) {
                let _ = QuestionText::parse(&s);
                let _ = OrganizationName::parse(&s);
                let _ = RequestId::parse(&s);
                let _ = optional_short("portal", &s);
            }

            #[test]
            fn accepted_text_has_a_visible_and_no_refused_character(
                s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{9f}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2060}-\u{2069}\u{feff} ]){0,40}"
            ) {
                if let Ok(t) = QuestionText::parse(&s) {
                    prop_assert!(!t.as_str().chars().any(is_refused), "{:?}", t);
                    prop_assert!(t.as_str().chars().any(|c| !is_invisible(c)), "{:?}", t);
                    prop_assert_eq!(t.as_str(), s.trim());
                }
            }

            #[test]
            fn text_without_refused_characters_is_kept_as_given(s in "\\PC{1,40}") {
                prop_assume!(s.chars().any(|c| !is_invisible(c)));
                prop_assert_eq!(text("f", &s, 100).unwrap(), s.trim());
            }
        }
    }
}
