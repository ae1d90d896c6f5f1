//! Typo tolerance: an [`fst::Automaton`] that accepts every key within one
//! edit of a word, where an edit is an insertion, a deletion, a substitution
//! or a swap of two neighbouring letters (optimal string alignment
//! distance).
//!
//! Why not `fst::automaton::Levenshtein`? Two reasons, both measured (see
//! `docs/benchmarks.md`): it builds a full DFA for every query word before
//! the search starts, which costs more than the whole rest of a
//! classification, and it counts a swapped pair (`aansprakelijkhied`) as two
//! edits, although that is the most common typo. This automaton simulates
//! the dynamic-programming row directly: the state is the row itself, packed
//! two bits per cell into a `u64`, so a transition is a few dozen
//! instructions and nothing is built in advance.

use fst::Automaton;

/// Longest word (in bytes) the automaton handles; a row of `n + 1` cells of
/// two bits must fit in 64 bits. Longer words are compounds, which the
/// compound splitter handles instead.
pub const MAX_TYPO_WORD: usize = 31;

/// Accepts keys within one edit (insert, delete, substitute, swap) of `word`.
#[derive(Debug, Clone, Copy)]
pub struct OneEdit<'a> {
    word: &'a [u8],
    keep_first: bool,
}

impl<'a> OneEdit<'a> {
    /// The automaton for `word`; `None` when it is longer than
    /// [`MAX_TYPO_WORD`] bytes.
    pub fn new(word: &'a str) -> Option<Self> {
        (word.len() <= MAX_TYPO_WORD).then_some(OneEdit {
            word: word.as_bytes(),
            keep_first: false,
        })
    }

    /// Only accept keys that start with the word's first byte. People rarely
    /// mistype the first letter, and the search then stays inside one
    /// subtree of the FST instead of visiting every first letter.
    pub fn keeping_first_letter(self) -> Self {
        OneEdit {
            keep_first: true,
            ..self
        }
    }
}

/// A row in which no cell is within one edit: nothing can match any more.
const DEAD: Row = Row {
    cells: u64::MAX,
    previous: u64::MAX,
    last: 0,
    depth: u8::MAX,
    best: 3,
};

/// A dynamic-programming row: cell `i` is the edit distance (capped at 2)
/// between the first `i` bytes of the word and the input read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    cells: u64,
    previous: u64,
    /// The last input byte, or 256 before the first.
    last: u16,
    /// Bytes read so far.
    depth: u8,
    /// The smallest cell, so `can_match` is one comparison.
    best: u8,
}

#[inline]
fn cell(row: u64, i: usize) -> u8 {
    ((row >> (2 * i)) & 3) as u8
}

impl Automaton for OneEdit<'_> {
    type State = Row;

    fn start(&self) -> Row {
        let mut cells = 0u64;
        for i in 0..=self.word.len() {
            cells |= (i.min(2) as u64) << (2 * i);
        }
        Row {
            cells,
            previous: u64::MAX,
            last: 256,
            depth: 0,
            best: 0,
        }
    }

    fn is_match(&self, row: &Row) -> bool {
        cell(row.cells, self.word.len()) <= 1
    }

    fn can_match(&self, row: &Row) -> bool {
        row.best <= 1
    }

    fn accept(&self, row: &Row, byte: u8) -> Row {
        if self.keep_first && row.depth == 0 && self.word.first() != Some(&byte) {
            return DEAD;
        }
        // Cell i of row j is at least |i - j|, so only the band
        // j-1 ..= j+1 can hold a 0 or a 1; every other cell stays at the
        // cap of 2. Computing just the band makes a transition O(1).
        let n = self.word.len();
        let j = usize::from(row.depth) + 1;
        let old = row.cells;
        let mut new = TWOS & mask(n);
        let mut best = 2u8;
        let lo = j.saturating_sub(1);
        let hi = (j + 1).min(n);
        let mut left = 2u8;
        if lo == 0 {
            left = (cell(old, 0) + 1).min(2);
            new = set(new, 0, left);
            best = left;
        }
        for i in lo.max(1)..=hi {
            let expected = self.word[i - 1];
            let substitute = cell(old, i - 1) + u8::from(expected != byte);
            let mut candidate = substitute.min(cell(old, i) + 1).min(left + 1);
            if i >= 2 && row.last == u16::from(expected) && self.word[i - 2] == byte {
                candidate = candidate.min(cell(row.previous, i - 2) + 1);
            }
            left = candidate.min(2);
            best = best.min(left);
            new = set(new, i, left);
        }
        Row {
            cells: new,
            previous: old,
            last: u16::from(byte),
            depth: row.depth.saturating_add(1),
            best,
        }
    }
}

/// Every cell at 2.
const TWOS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// The bits of cells `0..=n`.
fn mask(n: usize) -> u64 {
    if n >= 31 {
        u64::MAX
    } else {
        (1u64 << (2 * (n + 1))) - 1
    }
}

#[inline]
fn set(row: u64, i: usize, value: u8) -> u64 {
    (row & !(3u64 << (2 * i))) | (u64::from(value) << (2 * i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fst::{IntoStreamer, Set, Streamer};

    fn matches(word: &str, keys: &[&str]) -> Vec<String> {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let set = Set::from_iter(sorted).unwrap();
        let mut stream = set.search(OneEdit::new(word).unwrap()).into_stream();
        let mut out = Vec::new();
        while let Some(k) = stream.next() {
            out.push(String::from_utf8(k.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn one_insertion_deletion_substitution_or_swap_matches() {
        let keys = [
            "aansprakelijkheid",
            "afval",
            "inzameling",
            "zuivering",
            "textiel",
        ];
        assert_eq!(matches("aansprakelijkhied", &keys), ["aansprakelijkheid"]); // swap
        assert_eq!(matches("inzamelin", &keys), ["inzameling"]); // deletion
        assert_eq!(matches("zuiveering", &keys), ["zuivering"]); // insertion
        assert_eq!(matches("textial", &keys), ["textiel"]); // substitution
    }

    #[test]
    fn keeping_the_first_letter_refuses_keys_that_start_differently() {
        let keys = ["borgen", "zorgen", "zorgenn"];
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let set = Set::from_iter(sorted).unwrap();
        let automaton = OneEdit::new("zorgen").unwrap().keeping_first_letter();
        let found: Vec<_> = set.search(automaton).into_stream().into_strs().unwrap();
        assert_eq!(found, ["zorgen", "zorgenn"]);
    }

    #[test]
    fn two_edits_do_not_match() {
        assert!(matches("txtial", &["textiel"]).is_empty());
        assert!(matches("afvlaa", &["afval"]).is_empty());
    }

    #[test]
    fn the_exact_word_matches_too() {
        assert_eq!(matches("afval", &["afval"]), ["afval"]);
    }

    /// Optimal string alignment distance, the textbook way.
    fn osa(a: &[u8], b: &[u8]) -> usize {
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    proptest::proptest! {
        #[test]
        fn the_automaton_accepts_exactly_the_words_within_one_edit(
            word in "[abc]{0,8}",
            other in "[abc]{0,9}",
        ) {
            let automaton = OneEdit::new(&word).unwrap();
            let mut state = automaton.start();
            for &b in other.as_bytes() {
                state = automaton.accept(&state, b);
            }
            let expected = osa(word.as_bytes(), other.as_bytes()) <= 1;
            proptest::prop_assert_eq!(automaton.is_match(&state), expected);
        }

        #[test]
        fn the_automaton_agrees_with_the_textbook_on_long_words(
            word in "[ab]{20,31}",
            edits in proptest::collection::vec((0usize..32, 0u8..3), 0..3),
        ) {
            // Derive a nearby word by a few random edits, so matches occur.
            let mut other = word.clone().into_bytes();
            for (at, op) in edits {
                let at = at.min(other.len());
                match op {
                    0 => other.insert(at, b'a'),
                    1 if at < other.len() => { other.remove(at); }
                    _ if at + 1 < other.len() => other.swap(at, at + 1),
                    _ => {}
                }
            }
            let automaton = OneEdit::new(&word).unwrap();
            let mut state = automaton.start();
            for &b in &other {
                state = automaton.accept(&state, b);
            }
            let expected = osa(word.as_bytes(), &other) <= 1;
            proptest::prop_assert_eq!(automaton.is_match(&state), expected);
        }
    }

    #[test]
    fn words_too_long_for_the_row_are_refused() {
        assert!(OneEdit::new(&"a".repeat(MAX_TYPO_WORD + 1)).is_none());
        assert!(OneEdit::new(&"a".repeat(MAX_TYPO_WORD)).is_some());
    }
}
