//! Layering: embedded defaults, then each values file in order, then each `--set`.
//!
//! Maps merge key by key; anything else (scalars, lists) is replaced whole, as in Helm. Every node
//! keeps the origin of the layer that wrote it, so an error can name the file that set the value.

use std::sync::Arc;

use super::{KeyPath, Problem, Segment};
use crate::yaml::{self, Node, Origin, Tree};

/// Deep-merges `over` into `base`.
pub fn merge(base: &mut Tree, over: Tree) {
    // The latest layer that wrote the key is where a user looks for it.
    if over.key_origin.is_some() {
        base.key_origin.clone_from(&over.key_origin);
    }
    match (&mut base.node, over.node) {
        (Node::Map(base_entries), Node::Map(over_entries)) => {
            for (key, value) in over_entries {
                if let Some((_, existing)) = base_entries.iter_mut().find(|(k, _)| *k == key) {
                    merge(existing, value);
                } else {
                    base_entries.push((key, value));
                }
            }
        }
        (_, node) => {
            base.node = node;
            base.origin = over.origin;
        }
    }
}

/// One `--set` or `--set-string` argument, which may hold several comma-separated assignments.
pub fn parse_set(argument: &str, typed: bool) -> Result<Vec<(KeyPath, Tree)>, Problem> {
    let flag = if typed { "--set" } else { "--set-string" };
    let mut assignments = Vec::new();
    for assignment in split_assignments(argument) {
        if assignment.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = split_once_unescaped(&assignment, '=') else {
            return Err(Problem::new(
                None,
                KeyPath::default(),
                format!("`{flag}` expects path=value, and this assignment has no `=`"),
                format!("write it as {flag} postgres.instances=3"),
            ));
        };
        let path = parse_key_path(key.trim()).map_err(|message| {
            Problem::new(
                None,
                KeyPath::default(),
                format!("`{flag}` has an invalid key path: {message}"),
                "use dotted keys with optional list indexes, e.g. roles[0].name".to_string(),
            )
        })?;
        let origin = Origin {
            source: Arc::from(format!("{flag} {path}")),
            line: 0,
            column: 0,
        };
        let value = unescape(&value);
        let node = if typed {
            typed_set_value(&value)
        } else {
            Node::Str(value.into())
        };
        assignments.push((path, Tree::new(node, origin)));
    }
    Ok(assignments)
}

/// Splits `a=1,b={x,y}` into assignments at the commas outside `{...}` lists, as Helm does.
fn split_assignments(argument: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut chars = argument.chars();
    while let Some(c) = chars.next() {
        let current = parts.last_mut().expect("never empty");
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => parts.push(String::new()),
            _ => current.push(c),
        }
    }
    parts
}

/// One `--set-json path=JSON` argument: the value is any JSON document.
pub fn parse_set_json(argument: &str) -> Result<(KeyPath, Tree), Problem> {
    let Some((key, value)) = argument.split_once('=') else {
        return Err(Problem::new(
            None,
            KeyPath::default(),
            "`--set-json` expects path=JSON, and this argument has no `=`",
            r#"write it as --set-json 'postgres.nodeSelector={"disk":"ssd"}'"#,
        ));
    };
    let path = parse_key_path(key.trim()).map_err(|message| {
        Problem::new(
            None,
            KeyPath::default(),
            format!("`--set-json` has an invalid key path: {message}"),
            "use dotted keys with optional list indexes, e.g. roles[0].name",
        )
    })?;
    let origin = Origin {
        source: Arc::from(format!("--set-json {path}")),
        line: 0,
        column: 0,
    };
    let json: serde_json::Value = serde_json::from_str(value).map_err(|e| {
        Problem::new(
            Some(origin.clone()),
            path.clone(),
            format!("not JSON (at line {}, column {})", e.line(), e.column()),
            "write a JSON value, e.g. 3, \"text\", [1, 2] or {\"k\": \"v\"} (quote it for the shell)",
        )
    })?;
    Ok((path, json_tree(&json, &origin)))
}

/// `--set-file path=FILE`: the file's text as a string value (a CA PEM, say).
pub fn parse_set_file(
    path: &str,
    file: &str,
    contents: String,
) -> Result<(KeyPath, Tree), Problem> {
    let path = parse_key_path(path.trim()).map_err(|message| {
        Problem::new(
            None,
            KeyPath::default(),
            format!("`--set-file` has an invalid key path: {message}"),
            "use dotted keys with optional list indexes, e.g. tls.server.ca.pem",
        )
    })?;
    let origin = Origin {
        source: Arc::from(format!("--set-file {path} ({file})")),
        line: 0,
        column: 0,
    };
    Ok((path, Tree::new(Node::Str(contents.into()), origin)))
}

fn json_tree(json: &serde_json::Value, origin: &Origin) -> Tree {
    use serde_json::Value as J;
    let node = match json {
        J::Null => Node::Null,
        J::Bool(b) => Node::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| Node::Float(n.as_f64().unwrap_or(0.0)), Node::Int),
        J::String(s) => Node::Str(s.clone().into()),
        J::Array(items) => Node::Seq(items.iter().map(|i| json_tree(i, origin)).collect()),
        J::Object(map) => Node::Map(
            map.iter()
                .map(|(k, v)| (k.clone().into(), json_tree(v, origin)))
                .collect(),
        ),
    };
    Tree::new(node, origin.clone())
}

fn typed_set_value(value: &str) -> Node {
    if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        // Helm separates list items with `,`; `;` is accepted as well.
        let items = split_unescaped(inner, ';')
            .into_iter()
            .flat_map(|part| split_unescaped(&part, ','))
            .filter(|s| !s.is_empty())
            .map(|s| {
                Tree::new(
                    typed_scalar(&s),
                    Origin {
                        source: Arc::from("--set"),
                        line: 0,
                        column: 0,
                    },
                )
            })
            .collect();
        return Node::Seq(items);
    }
    typed_scalar(value)
}

/// Helm's typing of `--set` values: booleans, null and integers; everything else is a string
/// (so `1.0` and `0755` stay strings, as Helm keeps them).
fn typed_scalar(value: &str) -> Node {
    match value {
        "true" => Node::Bool(true),
        "false" => Node::Bool(false),
        "null" => Node::Null,
        _ => {
            let plain_int = value.strip_prefix('-').unwrap_or(value);
            let is_int = !plain_int.is_empty()
                && plain_int.bytes().all(|b| b.is_ascii_digit())
                && (plain_int == "0" || !plain_int.starts_with('0'));
            match value.parse::<i64>() {
                Ok(i) if is_int => Node::Int(i),
                _ => Node::Str(value.to_string().into()),
            }
        }
    }
}

fn parse_key_path(key: &str) -> Result<KeyPath, String> {
    let mut segments = Vec::new();
    for part in split_unescaped(key, '.') {
        let mut rest = part.as_str();
        let name_end = rest.find('[').unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() {
            return Err("an empty key".into());
        }
        segments.push(Segment::Key(name.to_string()));
        rest = &rest[name_end..];
        while let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or("a `[` without `]`")?;
            let index: usize = after[..close]
                .parse()
                .map_err(|_| "a list index that is not a number")?;
            if index > 10_000 {
                return Err("a list index above 10000".into());
            }
            segments.push(Segment::Index(index));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            return Err("text after `]`".into());
        }
    }
    if segments.is_empty() {
        return Err("an empty key".into());
    }
    Ok(KeyPath(segments))
}

/// Writes `value` at `path`, creating maps and growing lists (with nulls) as needed.
pub fn assign(root: &mut Tree, path: &KeyPath, value: Tree) {
    let mut node = root;
    for segment in &path.0 {
        let origin = value.origin.clone();
        node = match segment {
            Segment::Key(key) => {
                if !matches!(node.node, Node::Map(_)) {
                    *node = Tree::new(Node::Map(Vec::new()), origin.clone());
                }
                let Node::Map(entries) = &mut node.node else {
                    unreachable!()
                };
                let position = if let Some(p) = entries.iter().position(|(k, _)| k == key) {
                    p
                } else {
                    entries.push((key.clone().into(), Tree::new(Node::Null, origin)));
                    entries.len() - 1
                };
                &mut entries[position].1
            }
            Segment::Index(index) => {
                if !matches!(node.node, Node::Seq(_)) {
                    *node = Tree::new(Node::Seq(Vec::new()), origin.clone());
                }
                let Node::Seq(items) = &mut node.node else {
                    unreachable!()
                };
                while items.len() <= *index {
                    items.push(Tree::new(Node::Null, origin.clone()));
                }
                &mut items[*index]
            }
        };
    }
    *node = value;
}

/// Finds the node at `path`, for error positions.
pub fn lookup<'t>(root: &'t Tree, path: &[Segment]) -> Option<&'t Tree> {
    let mut node = root;
    for segment in path {
        node = match (segment, &node.node) {
            (Segment::Key(key), Node::Map(entries)) => &entries.iter().find(|(k, _)| k == key)?.1,
            (Segment::Index(i), Node::Seq(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes the entry at `path` (a map key), if it exists.
pub fn remove(root: &mut Tree, path: &[Segment]) {
    let Some((Segment::Key(last), parent)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parent {
        node = match (segment, &mut node.node) {
            (Segment::Key(key), Node::Map(entries)) => {
                match entries.iter_mut().find(|(k, _)| k == key) {
                    Some((_, child)) => child,
                    None => return,
                }
            }
            (Segment::Index(i), Node::Seq(items)) => match items.get_mut(*i) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    if let Node::Map(entries) = &mut node.node {
        entries.retain(|(k, _)| k != last);
    }
}

/// The origin of the deepest existing node on `path` (the parent, when the key itself is missing).
pub fn origin_of(root: &Tree, path: &[Segment]) -> Origin {
    (0..=path.len())
        .rev()
        .find_map(|len| lookup(root, &path[..len]))
        .map_or_else(|| root.origin.clone(), |t| t.reported_origin().clone())
}

fn split_unescaped(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            if next != separator {
                parts.last_mut().unwrap().push('\\');
            }
            parts.last_mut().unwrap().push(next);
            continue;
        }
        if c == separator {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

fn split_once_unescaped(text: &str, separator: char) -> Option<(String, String)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == separator {
            return Some((text[..i].to_string(), text[i + 1..].to_string()));
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            out.push(next);
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads a values source from text, mapping YAML errors to problems.
pub fn parse_source(name: &str, text: &str) -> Result<Tree, Problem> {
    yaml::parse_values(&Arc::from(name), text)
        .map_err(|p| Problem::new(Some(p.origin), KeyPath::default(), p.message, p.fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_typed_like_helm() {
        let parsed = parse_set("a.b=3,c=true,d=on,e=0755,f=1.0,g=null", true).unwrap();
        let nodes: Vec<_> = parsed
            .iter()
            .map(|(p, t)| (p.to_string(), t.node.clone()))
            .collect();
        assert_eq!(
            nodes,
            vec![
                ("a.b".into(), Node::Int(3)),
                ("c".into(), Node::Bool(true)),
                ("d".into(), Node::Str("on".into())),
                ("e".into(), Node::Str("0755".into())),
                ("f".into(), Node::Str("1.0".into())),
                ("g".into(), Node::Null),
            ]
        );
    }

    #[test]
    fn set_string_keeps_strings_and_escapes() {
        let parsed = parse_set(r"roles[1].name=a\,b", false).unwrap();
        assert_eq!(parsed[0].0.to_string(), "roles[1].name");
        assert_eq!(parsed[0].1.node, Node::Str("a,b".into()));
    }

    #[test]
    fn malformed_set_is_refused() {
        assert!(parse_set("novalue", true).is_err());
        assert!(parse_set("a[x]=1", true).is_err());
        assert!(parse_set(".a=1", true).is_err());
    }

    #[test]
    fn merge_replaces_scalars_and_lists_and_merges_maps() {
        let mut base = parse_source("a", "x: {y: 1, z: [1, 2]}\nw: 1\n").unwrap();
        let over = parse_source("b", "x: {z: [3]}\n").unwrap();
        merge(&mut base, over);
        assert_eq!(
            base.to_json(),
            serde_json::json!({"x": {"y": 1, "z": [3]}, "w": 1})
        );
        let z = lookup(&base, &[Segment::Key("x".into()), Segment::Key("z".into())]).unwrap();
        assert_eq!(&*z.origin.source, "b");
    }
}
