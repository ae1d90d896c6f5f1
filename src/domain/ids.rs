//! Validated identifiers. Ids travel through URLs, CSV files, logs and
//! metric labels, so they are restricted to a safe slug alphabet once, here.

use std::fmt;

/// Why a text is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id was empty or only white space.
    #[error("{what} id is empty: give a short slug such as `pianoo`")]
    Empty {
        /// Which kind of id.
        what: &'static str,
    },
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("{what} id `{given}` is {len} bytes long; ids are at most {MAX_ID_LEN} bytes")]
    TooLong {
        /// Which kind of id.
        what: &'static str,
        /// The offending id (truncated for the message).
        given: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The id contains a character outside `a-z 0-9 - _`.
    #[error(
        "{what} id `{given}` contains `{bad}`: use lower-case letters a-z, digits, `-` and `_` only"
    )]
    BadCharacter {
        /// Which kind of id.
        what: &'static str,
        /// The offending id.
        given: String,
        /// The first character that is not allowed.
        bad: char,
    },
}

/// Longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

fn validate(what: &'static str, text: &str) -> Result<String, IdError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(IdError::Empty { what });
    }
    if text.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            what,
            given: super::input::quoted(text),
            len: text.len(),
        });
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(IdError::BadCharacter {
            what,
            given: super::input::quoted(text),
            bad,
        });
    }
    Ok(text.to_string())
}

macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `text` as an id: lower-case `a-z`, digits, `-`, `_`,
            /// at most [`MAX_ID_LEN`] bytes; surrounding white space is trimmed.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                validate($what, text).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id! {
    /// Stable id of a knowledge provider (an organisation), e.g. `pianoo`.
    ProviderId, "provider"
}
slug_id! {
    /// Stable id of an expert (a person), e.g. `j-devries-zwolle`.
    ExpertId, "expert"
}
slug_id! {
    /// Id of a theme of the taxonomy, e.g. `procurement`.
    ThemeId, "theme"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_slugs_and_trim_white_space() {
        assert_eq!(
            ProviderId::parse(" versnellingshuis-ce ").unwrap().as_str(),
            "versnellingshuis-ce"
        );
    }

    #[test]
    fn ids_reject_upper_case_spaces_and_empty_text_with_a_fix() {
        let err = ProviderId::parse("PIANOo").unwrap_err().to_string();
        assert!(err.contains("lower-case"), "{err}");
        assert!(matches!(ExpertId::parse("  "), Err(IdError::Empty { .. })));
        assert!(matches!(
            ThemeId::parse(&"x".repeat(65)),
            Err(IdError::TooLong { len: 65, .. })
        ));
    }
}
