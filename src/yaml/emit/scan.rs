//! The writer's byte-class tests, eight bytes at a time. The release build is optimized for size,
//! so the compiler does not vectorize byte loops, and a render passes some 30 KB of strings
//! through these tests: byte by byte they were a tenth of its instructions (BENCHMARKS.md,
//! round 6).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Printable ASCII text, and whether it holds a space (where `: ` and ` #` can start).
pub(super) struct Printable {
    pub(super) spaces: bool,
}

/// `Some` when every byte is printable ASCII: a space to `~`.
pub(super) fn printable_ascii(bytes: &[u8]) -> Option<Printable> {
    let (bad, spaces) = fold_words(bytes, (0, 0), |(bad, spaces), word| {
        // `below` and `equal` are exact for ASCII words; any other word is bad already.
        let outside = (word & HIGHS) | below(word, b' ') | equal(word, 0x7f);
        (bad | outside, spaces | equal(word, b' '))
    });
    (bad == 0).then_some(Printable {
        spaces: spaces != 0,
    })
}

/// Whether every byte is printable ASCII, a tab or a line break.
pub(super) fn printable_ascii_lines(bytes: &[u8]) -> bool {
    let bad = fold_words(bytes, 0, |bad, word| {
        let breaks = equal(word, b'\n') | equal(word, b'\t');
        bad | (word & HIGHS) | (below(word, b' ') & !breaks) | equal(word, 0x7f)
    });
    bad == 0
}

/// `step` over the bytes as little-endian words, each byte in at least one word: whole words,
/// then one that overlaps the last of them, so no byte is copied. Text of less than eight bytes
/// is read as two overlapping halves, padded with `a`, which every class holds.
fn fold_words<T>(bytes: &[u8], init: T, step: impl Fn(T, u64) -> T) -> T {
    const PAD: u64 = u64::from_le_bytes(*b"aaaaaaaa");
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    let quarter = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().expect("two bytes"));
    match n {
        0 => init,
        1 => step(init, (PAD << 8) | u64::from(bytes[0])),
        2..=3 => {
            let low = u64::from(quarter(0)) | (u64::from(quarter(n - 2)) << 16);
            step(init, (PAD << 32) | low)
        }
        4..=7 => step(init, u64::from(half(0)) | (u64::from(half(n - 4)) << 32)),
        _ => {
            let whole = (0..n / 8).fold(init, |acc, i| step(acc, word(8 * i)));
            step(whole, word(n - 8))
        }
    }
}

/// The high bit of every byte of `word` that is below `bound`. Exact for ASCII bytes (below
/// 0x80), where adding `0x80 - bound` to a byte sets its high bit exactly when it is at least
/// `bound` and never carries into the next byte; callers test for other bytes first.
fn below(word: u64, bound: u8) -> u64 {
    !word.wrapping_add(ONES * u64::from(0x80 - bound)) & HIGHS
}

/// The high bit of every byte of `word` that equals `byte`, exact for ASCII bytes: after the
/// exclusive or, a byte is zero exactly where it matched, and adding 0x7f sets the high bit of
/// every other byte without carrying.
fn equal(word: u64, byte: u8) -> u64 {
    let rest = word ^ (ONES * u64::from(byte));
    !(rest.wrapping_add(ONES * 0x7f) | rest) & HIGHS
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn printable_one_by_one(bytes: &[u8]) -> bool {
        bytes.iter().all(|b| (b' '..=b'~').contains(b))
    }

    fn lines_one_by_one(bytes: &[u8]) -> bool {
        bytes
            .iter()
            .all(|&b| b == b'\n' || b == b'\t' || (b' '..=b'~').contains(&b))
    }

    /// Every byte value at every position of every length up to three words, among bytes
    /// that pass (`x`) and among spaces: the word tests agree with the byte-by-byte ones.
    #[test]
    fn every_byte_at_every_position_is_classed_as_one_by_one() {
        for (length, filler) in (1..=24).flat_map(|n| [(n, b'x'), (n, b' ')]) {
            for position in 0..length {
                for byte in 0..=u8::MAX {
                    let mut bytes = vec![filler; length];
                    bytes[position] = byte;
                    assert_eq!(
                        printable_ascii(&bytes).map(|p| p.spaces),
                        printable_one_by_one(&bytes).then_some(bytes.contains(&b' ')),
                        "{bytes:?}"
                    );
                    assert_eq!(
                        printable_ascii_lines(&bytes),
                        lines_one_by_one(&bytes),
                        "{bytes:?}"
                    );
                }
            }
        }
        assert!(printable_ascii(b"").is_some_and(|p| !p.spaces) && printable_ascii_lines(b""));
    }

    proptest! {
        /// Mixed bytes next to each other (a carry would spill into a neighbour).
        #[test]
        fn any_bytes_are_classed_as_one_by_one(bytes in prop::collection::vec(
            prop_oneof![Just(0u8), Just(b'\t'), Just(b'\n'), Just(0x1f), Just(b' '), Just(b'~'),
                        Just(0x7f), Just(0x80), Just(0xff), any::<u8>()],
            0..40,
        )) {
            prop_assert_eq!(
                printable_ascii(&bytes).map(|p| p.spaces),
                printable_one_by_one(&bytes).then_some(bytes.contains(&b' '))
            );
            prop_assert_eq!(printable_ascii_lines(&bytes), lines_one_by_one(&bytes));
        }
    }
}
