//! Splitting the original text into words. Works on the unfolded text so
//! that upper-case abbreviations can still be recognised.

use unicode_normalization::char::is_combining_mark;

/// A word as written in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    /// The slice of the original text.
    pub text: &'a str,
    /// Written as an abbreviation: 2-6 letters (digits and `&` allowed),
    /// all upper case, e.g. `CE`, `MPG`, `PFAS`, `ETS2`, `B&W`.
    pub abbreviation: bool,
    /// A clause boundary lies between this word and the previous one.
    pub boundary_before: bool,
}

/// Punctuation after which a multi-word term may not continue.
fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '“'
            | '”'
            | '„'
            | '\n'
            | '\r'
            | '•'
            | '|'
    )
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        c.is_alphanumeric() || is_combining_mark(c)
    }
}

/// Calls `f` for every word of `text` of at least two characters.
///
/// Words are runs of letters, digits and combining marks; `&` between two
/// such characters stays inside the word (`B&W`). Hyphens and apostrophes
/// split words, and the pieces they leave of a single character (the `s` of
/// `collega's`, the `n` of `zo'n`) are dropped.
pub(crate) fn words<'a>(text: &'a str, mut f: impl FnMut(Word<'a>)) {
    let mut boundary = true;
    let mut start: Option<usize> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let inside = is_word_char(c)
            || (c == '&'
                && start.is_some()
                && iter.peek().is_some_and(|&(_, next)| is_word_char(next)));
        if inside {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            if emit(&text[s..i], boundary, &mut f) {
                boundary = false;
            }
        }
        if is_clause_break(c) {
            boundary = true;
        }
    }
    if let Some(s) = start {
        emit(&text[s..], boundary, &mut f);
    }
}

fn emit<'a>(word: &'a str, boundary_before: bool, f: &mut impl FnMut(Word<'a>)) -> bool {
    let abbreviation = if word.is_ascii() {
        // The common case, without Unicode tables.
        let bytes = word.as_bytes();
        if bytes.len() < 2 {
            return false;
        }
        let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
        (1..=6).contains(&letters) && !bytes.iter().any(u8::is_ascii_lowercase)
    } else {
        let mut chars = word.chars();
        if chars.next().is_none() || chars.next().is_none() {
            return false;
        }
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        (1..=6).contains(&letters)
            && word.chars().all(|c| !c.is_lowercase())
            && word.chars().any(|c| c.is_uppercase())
    };
    f(Word {
        text: word,
        abbreviation,
        boundary_before,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        words(text, |w| out.push((w.text, w.abbreviation)));
        out
    }

    #[test]
    fn hyphens_split_and_ampersands_inside_words_stay() {
        assert_eq!(
            collect("bio-based B&W CO2-heffing & meer"),
            [
                ("bio", false),
                ("based", false),
                ("B&W", true),
                ("CO2", true),
                ("heffing", false),
                ("meer", false)
            ]
        );
    }

    #[test]
    fn apostrophes_split_and_single_letters_are_dropped() {
        assert_eq!(
            collect("collega's zo'n"),
            [("collega", false), ("zo", false)]
        );
        assert_eq!(collect("collega’s"), [("collega", false)]);
    }

    #[test]
    fn a_shouted_long_word_is_not_an_abbreviation() {
        assert_eq!(
            collect("BELANGRIJK PFAS"),
            [("BELANGRIJK", false), ("PFAS", true)]
        );
    }

    #[test]
    fn decomposed_diacritics_stay_inside_the_word() {
        assert_eq!(
            collect("ide\u{0065}\u{0308}en"),
            [("ide\u{0065}\u{0308}en", false)]
        );
    }
}
