//! Characters a manifest cannot carry: refused at the key that holds them, before a render.

use crate::yaml::{Origin, Tree};

use super::{KeyPath, Problem, Segment};

/// Adds a problem for every string or key of `tree` that holds such a character. Walking with
/// the key path clones every key, so the loader calls it only when a layer's text holds one
/// ([`holds_unprintable`]).
pub(super) fn check(tree: &Tree, problems: &mut Vec<Problem>) {
    report_all(tree, &mut KeyPath::default(), problems);
}

/// Characters YAML cannot carry in a manifest (not `c-printable`) that JSON escaping, which the
/// templates use, leaves as they are: DEL, the C1 controls but NEL, and the non-characters
/// U+FFFE/U+FFFF. A value holding one would make the render fail, so it is refused up front.
fn is_unprintable(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// Whether `text` holds a character from [`is_unprintable`].
pub(super) fn holds_unprintable(text: &str) -> bool {
    // Every such character is DEL or encoded with bytes >= 0x80: ASCII text without DEL has none
    // (both tests run a word or more at a time, not byte by byte).
    (!text.is_ascii() || text.as_bytes().contains(&0x7f)) && text.chars().any(is_unprintable)
}

/// Problems for every string (or key) holding a character from [`is_unprintable`].
fn report_all(tree: &Tree, path: &mut KeyPath, problems: &mut Vec<Problem>) {
    fn report(problems: &mut Vec<Problem>, path: &KeyPath, origin: &Origin, what: &str) {
        problems.push(Problem::new(
            Some(origin.clone()),
            path.clone(),
            format!("the {what} holds a control character (DEL, U+0080-U+009F or U+FFFE/U+FFFF) that a manifest cannot carry"),
            "remove the character (write the text in UTF-8 without control characters)",
        ));
    }
    match &tree.node {
        crate::yaml::Node::Str(text) if text.chars().any(is_unprintable) => {
            report(problems, path, &tree.origin, "value");
        }
        crate::yaml::Node::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                path.0.push(Segment::Index(index));
                report_all(item, path, problems);
                path.0.pop();
            }
        }
        crate::yaml::Node::Map(entries) => {
            for (key, value) in entries {
                path.0.push(Segment::Key(key.to_string()));
                if key.chars().any(is_unprintable) {
                    report(problems, path, &value.origin, "key");
                }
                report_all(value, path, problems);
                path.0.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::values::{Source, load};

    /// DEL and the C1 controls are reported at their key, in values and in keys alike; text
    /// with other non-ASCII characters is not.
    #[test]
    fn control_characters_are_refused_at_their_key() {
        let load_text = |text: &str| {
            load(
                &[Source {
                    name: "v.yaml".into(),
                    text: text.into(),
                }],
                &[],
            )
        };
        for (text, key) in [
            ("labels:\n  team: \"a\\x7fb\"\n", "labels.team"),
            ("labels:\n  \"te\\u009fam\": b\n", "labels"),
        ] {
            let problems = load_text(text).expect_err(text).to_string();
            assert!(problems.contains("control character"), "{problems}");
            assert!(problems.contains(key), "{problems}");
        }
        assert!(load_text("backup:\n  disabledReason: \"caf\u{e9} \u{2603}\"\n").is_ok());
    }
}
