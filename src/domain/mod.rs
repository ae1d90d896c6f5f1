//! Domain vocabulary shared by every layer: categories, organisation types,
//! provinces, knowledge kinds and the validated ids of providers, experts and
//! themes.
//!
//! Everything here is parsed once, at the edge (taxonomy file, import file,
//! command line, later gRPC), into types whose constructors check the input,
//! so the engine never has to wonder whether an id is well formed.

mod expert;
mod ids;
pub mod input;
pub mod lifecycle;
mod provider;
pub mod worktime;

pub use expert::{
    parse_expert_records, parse_experts_json, AbsenceRecord, Expert, ExpertError, ExpertRecord,
    Expertise, MAX_TERM_WEIGHT,
};
pub use ids::{ExpertId, IdError, ProviderId, ThemeId, MAX_ID_LEN};
pub use lifecycle::{transition, ActionKind, IllegalTransition, Status};
pub use provider::{ProviderChange, ProviderRecord};

use std::fmt;
use std::str::FromStr;

/// Error for an enum value given as text that is not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`: use one of {allowed}")]
pub struct UnknownValue {
    /// What kind of value was being parsed ("category", "organisation type" …).
    pub what: &'static str,
    /// The text that did not parse.
    pub given: String,
    /// The accepted spellings, comma separated, for the message.
    pub allowed: String,
}

/// Declares a closed enum with canonical upper-case names, `FromStr`
/// (case-insensitive, also accepting the protobuf-style `PREFIX_NAME`) and
/// `Display`, so every layer spells the values the same way.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal, $prefix:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order (also the index order used
            /// by score arrays).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical upper-case name, as used in files and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Position of this value in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let upper = s.trim().to_ascii_uppercase();
                let bare = upper.strip_prefix(concat!($prefix, "_")).unwrap_or(&upper);
                $( if bare == $text { return Ok($name::$variant); } )+
                Err(UnknownValue {
                    what: $what,
                    given: $crate::domain::input::quoted(s),
                    allowed: [$($text),+].join(", "),
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum! {
    /// The four kinds of question of the study's Tabel 3.1.
    Category, "category", "CATEGORY" {
        /// The organisation's own course: vision, roles, targets, monitoring.
        Strategy => "STRATEGY",
        /// Working with other governments, the Rijk, citizens, businesses.
        Collaboration => "COLLABORATION",
        /// Carrying policy out in daily work.
        Execution => "EXECUTION",
        /// The content of one theme or core task.
        Specific => "SPECIFIC",
    }
}

named_enum! {
    /// Where the knowledge that answers a question lives (figuur 4.1).
    KnowledgeKind, "knowledge kind", "KNOWLEDGE_KIND" {
        /// Documented: tools, regulations, subsidies, lists.
        Existing => "EXISTING",
        /// In people's heads: experience, examples, contact persons.
        Tacit => "TACIT",
        /// Must still be developed: visions of 2050, new targets.
        New => "NEW",
    }
}

named_enum! {
    /// The type of the asking organisation.
    OrganizationType, "organisation type", "ORGANIZATION_TYPE" {
        /// Municipality.
        Gemeente => "GEMEENTE",
        /// Province.
        Provincie => "PROVINCIE",
        /// Water board.
        Waterschap => "WATERSCHAP",
        /// National government.
        Rijk => "RIJK",
        /// Anything else: public companies, institutes, consultants.
        Other => "OTHER",
    }
}

named_enum! {
    /// The twelve Dutch provinces, used as the region of askers, experts and
    /// regional providers.
    Province, "province", "PROVINCE" {
        /// Groningen.
        Groningen => "GRONINGEN",
        /// Fryslân (Friesland).
        Fryslan => "FRYSLAN",
        /// Drenthe.
        Drenthe => "DRENTHE",
        /// Overijssel.
        Overijssel => "OVERIJSSEL",
        /// Flevoland.
        Flevoland => "FLEVOLAND",
        /// Gelderland.
        Gelderland => "GELDERLAND",
        /// Utrecht.
        Utrecht => "UTRECHT",
        /// Noord-Holland.
        NoordHolland => "NOORD_HOLLAND",
        /// Zuid-Holland.
        ZuidHolland => "ZUID_HOLLAND",
        /// Zeeland.
        Zeeland => "ZEELAND",
        /// Noord-Brabant.
        NoordBrabant => "NOORD_BRABANT",
        /// Limburg.
        Limburg => "LIMBURG",
    }
}

impl Province {
    /// Parses the ways people write a province: `Noord-Holland`,
    /// `noord holland`, `NOORD_HOLLAND`, `Fryslân`, `Friesland`.
    pub fn parse_lenient(text: &str) -> Result<Self, UnknownValue> {
        let folded = crate::analysis::fold(text);
        let canon: String = folded
            .chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let canon = match canon.as_str() {
            "FRIESLAND" => "FRYSLAN",
            "BRABANT" => "NOORD_BRABANT",
            other => other,
        };
        canon.parse().map_err(|mut e: UnknownValue| {
            e.given = text.to_string();
            e
        })
    }
}

impl OrganizationType {
    /// Average importance (1-5) of a question category for this type of
    /// government, Tabel 3.1 of the study. Types the study did not survey
    /// get the mean of the three surveyed ones.
    pub fn category_importance(self, category: Category) -> f32 {
        const TABLE: [[f32; 3]; 4] = [
            // PROVINCIE, GEMEENTE, WATERSCHAP
            [3.5, 3.7, 3.9],
            [3.3, 3.7, 3.3],
            [3.7, 4.0, 4.3],
            [3.7, 3.8, 3.6],
        ];
        let row = TABLE[category.index()];
        match self {
            OrganizationType::Provincie => row[0],
            OrganizationType::Gemeente => row[1],
            OrganizationType::Waterschap => row[2],
            OrganizationType::Rijk | OrganizationType::Other => (row[0] + row[1] + row[2]) / 3.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_parse_in_any_case_and_with_their_prefix() {
        assert_eq!("strategy".parse::<Category>(), Ok(Category::Strategy));
        assert_eq!(
            "CATEGORY_SPECIFIC".parse::<Category>(),
            Ok(Category::Specific)
        );
        assert_eq!(
            "ORGANIZATION_TYPE_GEMEENTE".parse::<OrganizationType>(),
            Ok(OrganizationType::Gemeente)
        );
    }

    #[test]
    fn unknown_enum_value_error_lists_the_allowed_values() {
        let err = "STRATEGIE".parse::<Category>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("STRATEGIE"), "{msg}");
        assert!(
            msg.contains("STRATEGY, COLLABORATION, EXECUTION, SPECIFIC"),
            "{msg}"
        );
    }

    #[test]
    fn provinces_parse_the_way_people_write_them() {
        assert_eq!(
            Province::parse_lenient("Noord-Holland"),
            Ok(Province::NoordHolland)
        );
        assert_eq!(Province::parse_lenient("Fryslân"), Ok(Province::Fryslan));
        assert_eq!(Province::parse_lenient("friesland"), Ok(Province::Fryslan));
        assert!(Province::parse_lenient("Vlaanderen").is_err());
    }

    #[test]
    fn water_boards_rate_execution_questions_highest() {
        let w = OrganizationType::Waterschap;
        assert!(
            w.category_importance(Category::Execution) > w.category_importance(Category::Strategy)
        );
    }
}
