//! What the layers over the defaults bring: the loader searches their text, never the
//! defaults', for the characters it must refuse and the `<` of a placeholder.

use super::{KeyPath, Segment, unprintable};
use crate::yaml::Tree;

/// What the text (strings and keys) laid over the defaults holds. The defaults' own text holds
/// neither (a test checks): the merged values can hold them only if a layer brought them, so
/// the defaults are never searched at run time.
#[derive(Debug, Default)]
pub(super) struct LayerText {
    /// A character a manifest cannot carry.
    pub unprintable: bool,
    /// A `<`, as every argocd-vault-plugin placeholder has.
    pub less_than: bool,
}

impl LayerText {
    /// Every string and key of a layer (`any_text` told never to stop, so it visits all).
    pub fn add(&mut self, layer: &Tree) {
        layer.any_text(&mut |text: &str| {
            self.note(text);
            false
        });
    }

    /// A `--set`-style assignment: its value, and the keys of its path, which it may create.
    pub fn add_assignment(&mut self, path: &KeyPath, value: &Tree) {
        self.add(value);
        for segment in &path.0 {
            if let Segment::Key(key) = segment {
                self.note(key);
            }
        }
    }

    fn note(&mut self, text: &str) {
        self.unprintable |= unprintable::holds_unprintable(text);
        self.less_than |= text.contains('<');
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Override, Source, defaults_tree, load};
    use super::unprintable;

    /// What the loader's gate assumes: no string or key of the defaults holds a character a
    /// manifest cannot carry, or a `<` (a default with one would have to be searched at every
    /// load, or be noted here at build time).
    #[test]
    fn the_defaults_hold_no_unprintable_character_and_no_less_than() {
        let mut strings = 0;
        let found = defaults_tree().any_text(&mut |text: &str| {
            strings += 1;
            unprintable::holds_unprintable(text) || text.contains('<')
        });
        assert!(!found);
        assert!(strings > 100, "{strings} strings and keys searched");
    }

    /// Every way text reaches the values is searched: files, each `--set` flavour (values and
    /// the keys their paths create) and the single-key flags.
    #[test]
    fn text_from_every_kind_of_layer_is_searched() {
        let set = |argument: &str| Override::Set {
            argument: argument.into(),
            typed: true,
        };
        let cases = [
            (vec![], vec![set("labels.team=a\u{7f}b")], "labels.team"),
            (vec![], vec![set("labels.t\u{86}eam=ab")], "labels"),
            (
                vec![],
                vec![Override::Json {
                    argument: r#"labels={"team": "a\u007fb"}"#.into(),
                }],
                "labels.team",
            ),
            (
                vec![],
                vec![Override::File {
                    path: "labels.team".into(),
                    file: "team.txt".into(),
                    contents: "a\u{9f}b".into(),
                }],
                "labels.team",
            ),
            (
                vec![],
                vec![Override::Key {
                    path: "stage".into(),
                    value: "pro\u{7f}d".into(),
                    from: "--stage".into(),
                }],
                "stage",
            ),
            (
                vec![Source {
                    name: "v.yaml".into(),
                    text: "labels:\n  team: \"a\\x7fb\"\n".into(),
                }],
                vec![],
                "labels.team",
            ),
        ];
        for (sources, overrides, key) in cases {
            let problems = load(&sources, &overrides).expect_err(key).to_string();
            assert!(problems.contains("control character"), "{problems}");
            assert!(problems.contains(key), "{key}: {problems}");
        }
        let placeholder =
            |overrides: Vec<Override>| load(&[], &overrides).expect("loads").may_hold_placeholders;
        assert!(!placeholder(vec![set("backup.disabledReason=a")]));
        assert!(placeholder(vec![set(
            "backup.disabledReason=<path:kv#why>"
        )]));
    }
}
