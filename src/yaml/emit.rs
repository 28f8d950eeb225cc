//! Writing typed objects as YAML, in the layout `kubectl` uses (block style, sequences not
//! indented under their key), without a general-purpose YAML serializer.
//!
//! Why not serde-saphyr, which reads everything else: its serializer decides, scalar by scalar and
//! character by character, how to present each string, and took a quarter of a one-database
//! process (BENCHMARKS.md). Manifests need far less: the object is written as it serializes
//! (field order kept, scalars as serde_json writes them; `emit/writer.rs`), and every string
//! is written plain only when it passes a short, conservative test that no YAML 1.1 or 1.2 reader
//! can take for anything but that string; otherwise it is a literal block (multi-line text) or a double-quoted JSON string,
//! which is valid YAML. Tests read every output back with serde-saphyr and compare.

use std::fmt::Write as _;

/// `Serializer` methods for the integer types, each handing its value to one helper method
/// (serde has a method per type; the YAML writer and the key writer treat them all alike).
macro_rules! integers {
    ($helper:ident; $($method:ident: $int:ty),+) => {$(
        fn $method(self, v: $int) -> Result<(), Error> {
            self.$helper(v)
        }
    )+};
}

mod key;
mod scan;
mod writer;

/// `object` as one YAML document (no `---`), ending in a newline.
pub fn to_string<T: serde::Serialize>(object: &T) -> Result<String, String> {
    // Most manifests fit; the few larger ones (scripts in a ConfigMap) grow it a few times.
    let mut out = String::with_capacity(4096);
    write_document(&mut out, object)?;
    Ok(out)
}

/// Appends `object` to `out` as one YAML document (no `---`), ending in a newline.
pub fn write_document<T: serde::Serialize>(out: &mut String, object: &T) -> Result<(), String> {
    writer::write(out, object).map_err(|e| e.to_string())
}

fn indent(out: &mut String, width: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = width;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

fn write_string(out: &mut String, s: &str, width: usize, key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !key && literal_block_fits(s) {
        write_literal_block(out, s, width);
    } else {
        write_double_quoted(out, s);
    }
}

/// Whether `s` can be written without quotes and read back, by a YAML 1.1 or 1.2 reader, as this
/// very string. Deliberately narrow: printable ASCII; first a letter, one of `/ ^ $ _ ( <`, an
/// option such as `-f` or `--config` (never an indicator, `~`, `-1`, `.inf`, or the merge key
/// `<<`), or a digit when a letter follows that no
/// number, date or time can contain (`10Gi`, `500m`, `18.6-minimal-trixie`, but not `1e3`,
/// `0x1F` or `2001-12-14`); no `: ` or ` #`, no trailing space or colon; not one of the YAML 1.1
/// words for booleans and null.
fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let first_fits = match first {
        b'/' | b'^' | b'$' | b'_' | b'(' => true,
        // Options such as `-f` and `--config=...`, but never `-`, `- x`, `-1` or `-.inf`.
        b'-' => match bytes.get(1) {
            Some(b'-') => bytes.get(2).is_some_and(u8::is_ascii_alphabetic),
            second => second.is_some_and(u8::is_ascii_alphabetic),
        },
        b'<' => s != "<<",
        b'0'..=b'9' => bytes.iter().any(|b| {
            b.is_ascii_alphabetic()
                && !matches!(
                    b.to_ascii_lowercase(),
                    b'a'..=b'f' | b'o' | b't' | b'x' | b'z'
                )
        }),
        _ => first.is_ascii_alphabetic(),
    };
    if !first_fits || last == b' ' || last == b':' {
        return false;
    }
    let Some(printable) = scan::printable_ascii(bytes) else {
        return false;
    };
    if printable.spaces && bytes.windows(2).any(|pair| pair == b": " || pair == b" #") {
        return false;
    }
    // The YAML 1.1 words for booleans and null, by length (most strings are keys of four).
    let words: &[&str] = match s.len() {
        1 => &["y", "n"],
        2 => &["no", "on"],
        3 => &["yes", "off"],
        4 => &["true", "null"],
        5 => &["false"],
        _ => &[],
    };
    !words.iter().any(|word| s.eq_ignore_ascii_case(word))
}

/// Multi-line text whose every line reads back unchanged from a literal block: printable
/// characters only (tabs allowed), no carriage returns, and a first line that does not start with
/// a space (which would need an indentation indicator).
fn literal_block_fits(s: &str) -> bool {
    if !s.contains('\n') || s.starts_with(' ') || s.starts_with('\n') {
        return false;
    }
    // ASCII (scripts, SQL, configuration) needs no decoding: a byte test says the same.
    if scan::printable_ascii_lines(s.as_bytes()) {
        return true;
    }
    if s.is_ascii() {
        return false;
    }
    s.chars().all(|c| {
        c == '\n'
            || c == '\t'
            || (!c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
    })
}

fn write_literal_block(out: &mut String, s: &str, width: usize) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, width);
            out.push_str(line);
        }
    }
    // The caller ends the value's line; "|+" keeps the extra line breaks as empty lines.
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// A JSON string is a valid YAML double-quoted scalar; YAML 1.1 also breaks lines at U+0085,
/// U+2028 and U+2029, and a reader may drop U+FEFF, so those are escaped too.
fn write_double_quoted(out: &mut String, s: &str) {
    let json = serde_json::to_string(s).expect("a string serializes");
    if json.is_ascii() {
        out.push_str(&json);
        return;
    }
    for c in json.chars() {
        match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value as Json, json};

    use super::*;

    /// What a YAML reader makes of the emitted text.
    fn read_back(text: &str) -> Json {
        let mut documents = crate::yaml::large_documents(text).expect("the output parses");
        assert_eq!(documents.len(), 1, "{text}");
        documents.remove(0)
    }

    #[test]
    fn strings_a_yaml_reader_could_take_for_something_else_are_quoted() {
        let ambiguous = [
            "",
            "on",
            "Off",
            "YES",
            "n",
            "y",
            "true",
            "null",
            "~",
            "0755",
            "1e3",
            "0x1F",
            "1:20",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            ".inf",
            "-.inf",
            "-1",
            "+1",
            "-",
            "- item",
            "<<",
            "=",
            "key: value",
            "a #comment",
            "trailing ",
            "colon:",
            " lead",
            "*alias",
            "&anchor",
            "!tag",
            "|",
            ">",
            "%YAML",
            "@at",
            "`tick",
            "{a}",
            "[a]",
            "?",
            "'single'",
            "\"double\"",
            "1113b71e02dcb5e6",
            "caf\u{e9}",
            "tab\there",
        ];
        for s in ambiguous {
            let text = to_string(&json!({ "k": s })).unwrap();
            assert!(text.starts_with("k: \""), "{s:?} was not quoted: {text}");
            assert_eq!(read_back(&text), json!({ "k": s }), "{text}");
        }
        for s in [
            "10Gi",
            "500m",
            "87600h",
            "18.6-minimal-trixie",
            "--config=/etc/x.yaml",
            "-f",
            "^cnpg_.*$",
            "<path:secret/data/x#ca.crt>",
            "SELECT $1 FROM t WHERE a = 'b'",
        ] {
            let text = to_string(&json!({ "k": s })).unwrap();
            assert_eq!(text, format!("k: {s}\n"));
            assert_eq!(read_back(&text), json!({ "k": s }));
        }
    }

    #[test]
    fn layout_is_kubectl_style_with_literal_blocks_for_text() {
        let object = json!({
            "b": {"list": [{"x": 1, "y": [true, null]}, "s", [], {}], "empty": {}},
            "a": "line one\nline two\n",
            "c": "no newline\nat end",
            "d": "kept\n\n",
        });
        let text = to_string(&object).unwrap();
        assert_eq!(
            text,
            "a: |\n  line one\n  line two\nb:\n  empty: {}\n  list:\n  - x: 1\n    \"y\":\n    - true\n    - null\n  - s\n  - []\n  - {}\nc: |-\n  no newline\n  at end\nd: |+\n  kept\n\n"
        );
        assert_eq!(read_back(&text), object);
    }

    /// Where the writer decides a layout from what comes next: nested sequences, literal blocks
    /// in items and in maps inside items, enum variants, and documents that are no map at all.
    /// The expected texts are what the tree-based emitter before `emit/writer.rs` wrote.
    #[test]
    fn nested_layouts_variants_and_bare_documents() {
        #[derive(serde::Serialize)]
        enum Variant {
            Unit,
            New(u8),
            Tuple(u8, String),
            Struct { a: u8 },
        }
        let nested = json!({"m": [[1, [2]], "line\nnext", [], {}], "s": [{"k": "a\nb\n", "j": 1}]});
        assert_eq!(
            to_string(&nested).unwrap(),
            "m:\n-\n  - 1\n  -\n    - 2\n- |-\n  line\n  next\n- []\n- {}\ns:\n- j: 1\n  k: |\n    a\n    b\n"
        );
        let variants = [
            Variant::Unit,
            Variant::New(1),
            Variant::Tuple(2, "x".into()),
            Variant::Struct { a: 3 },
        ];
        assert_eq!(
            to_string(&variants).unwrap(),
            "- Unit\n- New: 1\n- Tuple:\n  - 2\n  - x\n- Struct:\n    a: 3\n"
        );
        assert_eq!(to_string(&json!("x")).unwrap(), "x\n");
        assert_eq!(to_string(&json!({})).unwrap(), "{}\n");
        assert_eq!(to_string(&json!([])).unwrap(), "[]\n");
        assert_eq!(
            to_string(&json!({"e": {"f": {}}})).unwrap(),
            "e:\n  f: {}\n"
        );
    }

    /// Any string, as a key or a value, at any depth, reads back as itself.
    fn arbitrary_string() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~\n\t]{0,40}",
            "[-:#&*!|>'\"%@`{}\\[\\],?~<=+. 0-9a-zA-Z\n]{0,16}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn every_string_reads_back_unchanged(key in arbitrary_string(), value in arbitrary_string(),
                                             other in arbitrary_string()) {
            let object = json!({
                "apiVersion": "v1",
                "data": { key.clone(): value.clone() },
                "items": [value.clone(), { key.clone(): [other.clone()] }],
                "last": other,
            });
            let text = to_string(&object).unwrap();
            prop_assert_eq!(read_back(&text), object, "{}", text);
        }
    }
}
