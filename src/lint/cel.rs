//! The CEL of `x-kubernetes-validations`: one rule compiled and evaluated as the API server
//! evaluates it when an object is created, and the JSON-to-CEL binding of `self`.
//!
//! The language is that of the `cel` crate (cel-rust) with:
//! - the standard macros and functions: `has`, `all`, `exists`, `exists_one`, `map`, `filter`,
//!   `size`, `contains`, `startsWith`, `endsWith`, `matches`, `in`, the conversions (`int`,
//!   `uint`, `double`, `string`, `bool`, `bytes`, `dyn`, `type`) and optionals (`a.?b`,
//!   `optional.of`, `optional.none`, `hasValue`, `value`, `orValue`, `or`);
//! - cel-go's extended strings (`charAt`, `indexOf`, `lastIndexOf`, `lowerAscii`, `upperAscii`,
//!   `replace`, `split`, `join`, `substring`, `trim`, `format`, `strings.quote`, `reverse`);
//! - written here, Kubernetes' list library (`isSorted`, `sum`, `min`, `max`, `indexOf`,
//!   `lastIndexOf` on lists) and cel-go's sets (`sets.contains`, `sets.equivalent`,
//!   `sets.intersects`).
//!
//! Not implemented (a rule using one is reported as not evaluated, a warning, never an error):
//! durations and timestamps, Kubernetes' regex (`find`, `findAll`), URL, quantity, IP and CIDR,
//! format, semver and authorizer libraries; so is a rule cel-rust cannot parse or evaluate.

// cel-rust's `Function` type hands the list functions their arguments by value.
#![allow(clippy::needless_pass_by_value)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use ::cel::common::types::{CelOptional, DYN_TYPE, LIST_TYPE};
use ::cel::common::value::CowVal;
use ::cel::{Context, Env, ExecutionError, Program, Value};
use base64::Engine as _;
use serde_json::Value as Json;

/// Functions a rule may call (standard, extended strings, and the libraries below), by the name
/// cel-rust records for the call: a namespaced `sets.contains(a, b)` is recorded as `contains`.
#[rustfmt::skip]
const SUPPORTED: &[&str] = &[
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
    "bool", "bytes", "dyn", "type", "of", "none", "ofNonZeroValue", "hasValue", "value", "orValue",
    "or", "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split",
    "join", "substring", "trim", "format", "quote", "reverse", "isSorted", "sum", "min", "max",
    "equivalent", "intersects",
];

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    env.add_extension(::cel::extensions::strings)
        .expect("the strings extension registers on the standard environment");
    kubernetes_lists(&mut env).expect("the list functions are declared once");
    Arc::new(env)
});

type Result<T> = std::result::Result<T, ExecutionError>;

/// Kubernetes' list library and cel-go's sets, on any list.
fn kubernetes_lists(env: &mut Env) -> std::result::Result<(), ::cel::DeclarationError> {
    for (name, function) in [
        ("isSorted", is_sorted as ::cel::common::functions::Function),
        ("sum", sum),
        ("min", min),
        ("max", max),
    ] {
        env.add_member_overload(name, &format!("list_{name}"), LIST_TYPE, vec![], function)?;
    }
    for (name, function) in [
        ("indexOf", index_of as ::cel::common::functions::Function),
        ("lastIndexOf", last_index_of),
    ] {
        let id = format!("list_{name}");
        env.add_member_overload(name, &id, LIST_TYPE, vec![DYN_TYPE], function)?;
    }
    for (name, function) in [
        (
            "sets.contains",
            sets_contains as ::cel::common::functions::Function,
        ),
        ("sets.equivalent", sets_equivalent),
        ("sets.intersects", sets_intersects),
    ] {
        env.add_overload(name, name, vec![LIST_TYPE, LIST_TYPE], function)?;
    }
    Ok(())
}

fn list_at(args: &[CowVal<'_, '_>], at: usize) -> Result<Vec<Value>> {
    match args.get(at).map(|a| Value::try_from(a.as_ref())) {
        Some(Ok(Value::List(items))) => Ok(items.to_vec()),
        Some(Ok(other)) => Err(ExecutionError::UnexpectedType {
            got: other.type_of().to_string(),
            want: "list".into(),
        }),
        Some(Err(e)) => Err(e),
        None => Err(ExecutionError::invalid_argument_count(at + 1, args.len())),
    }
}

fn owned<'b, 'v>(value: Value) -> Result<CowVal<'b, 'v>> {
    let value: Box<dyn ::cel::common::value::Val> = value.try_into()?;
    Ok(CowVal::Owned(value))
}

fn ordering(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    a.partial_cmp(b)
        .ok_or_else(|| ExecutionError::ValuesNotComparable(a.clone(), b.clone()))
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    let items = list_at(&args, 0)?;
    for pair in items.windows(2) {
        if ordering(&pair[0], &pair[1])?.is_gt() {
            return owned(Value::Bool(false));
        }
    }
    owned(Value::Bool(true))
}

fn extreme<'b, 'v>(
    args: &[CowVal<'b, 'v>],
    name: &str,
    keep: std::cmp::Ordering,
) -> Result<CowVal<'b, 'v>> {
    let mut items = list_at(args, 0)?.into_iter();
    let mut best = items
        .next()
        .ok_or_else(|| ExecutionError::function_error(name, "the list is empty"))?;
    for item in items {
        if ordering(&item, &best)? == keep {
            best = item;
        }
    }
    owned(best)
}

fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    extreme(&args, "min", std::cmp::Ordering::Less)
}

fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    extreme(&args, "max", std::cmp::Ordering::Greater)
}

fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    let overflow = || ExecutionError::function_error("sum", "integer overflow");
    let mut total = Value::Int(0);
    for (index, item) in list_at(&args, 0)?.into_iter().enumerate() {
        total = match (index, &total, item) {
            (0, _, item @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => item,
            (_, Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(b).ok_or_else(overflow)?),
            (_, Value::UInt(a), Value::UInt(b)) => {
                Value::UInt(a.checked_add(b).ok_or_else(overflow)?)
            }
            (_, Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (_, _, item) => {
                return Err(ExecutionError::function_error(
                    "sum",
                    format!("cannot add {}", item.type_of()),
                ));
            }
        };
    }
    owned(total)
}

fn position<'b, 'v>(args: &[CowVal<'b, 'v>], last: bool) -> Result<CowVal<'b, 'v>> {
    let items = list_at(args, 0)?;
    let needle = Value::try_from(args[1].as_ref())?;
    let found = if last {
        items.iter().rposition(|i| *i == needle)
    } else {
        items.iter().position(|i| *i == needle)
    };
    owned(Value::Int(
        found.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX)),
    ))
}

fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    position(&args, false)
}

fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    position(&args, true)
}

fn sets_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    let (all, some) = (list_at(&args, 0)?, list_at(&args, 1)?);
    owned(Value::Bool(some.iter().all(|s| all.contains(s))))
}

fn sets_equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    let (a, b) = (list_at(&args, 0)?, list_at(&args, 1)?);
    owned(Value::Bool(
        a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
    ))
}

fn sets_intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>> {
    let (a, b) = (list_at(&args, 0)?, list_at(&args, 1)?);
    owned(Value::Bool(a.iter().any(|x| b.contains(x))))
}

/// One `x-kubernetes-validations` entry, compiled.
pub(super) struct Rule {
    pub(super) source: String,
    /// The program, or why it is not evaluated.
    program: std::result::Result<Program, String>,
    message: Option<String>,
    message_expression: Option<Program>,
    pub(super) field_path: String,
    reason: Option<String>,
    /// Names `oldSelf`: a transition rule, evaluated on update only (unless `optionalOldSelf`).
    transition: bool,
    optional_old_self: bool,
}

/// What a rule says of one value.
pub(super) enum Verdict {
    Pass,
    /// Evaluated false, or failed as the API server fails it: the message.
    Fail(String),
    /// Not evaluated on create (a transition rule).
    Skipped,
    /// cnpgtp cannot evaluate it: why.
    NotEvaluated(String),
}

fn compile(source: &str) -> std::result::Result<Program, String> {
    let program = ENV.compile(source).map_err(|e| {
        let first = e.to_string();
        format!(
            "cel-rust cannot parse it: {}",
            first.lines().next().unwrap_or_default()
        )
    })?;
    let references = program.references();
    let mut unsupported: Vec<&str> = references
        .functions()
        .into_iter()
        .filter(|f| f.chars().next().is_some_and(char::is_alphabetic) && !SUPPORTED.contains(f))
        .collect();
    unsupported.sort_unstable();
    let verdict = match unsupported.as_slice() {
        [] => Ok(()),
        names => Err(format!(
            "cnpgtp does not implement {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    drop(references);
    verdict.map(|()| program)
}

impl Rule {
    pub(super) fn new(spec: &Json) -> Self {
        let source = spec["rule"].as_str().unwrap_or_default().to_string();
        let program = compile(&source);
        let transition = match &program {
            Ok(program) => program.references().has_variable("oldSelf"),
            Err(_) => source.contains("oldSelf"),
        };
        let text = |key: &str| spec[key].as_str().map(str::to_string);
        Rule {
            program,
            message: text("message").filter(|m| !m.trim().is_empty()),
            message_expression: text("messageExpression").and_then(|m| compile(&m).ok()),
            field_path: text("fieldPath").unwrap_or_default(),
            reason: text("reason"),
            transition,
            optional_old_self: spec["optionalOldSelf"] == Json::Bool(true),
            source,
        }
    }

    /// The rule's text on one line, for messages.
    pub(super) fn text(&self) -> String {
        self.source.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Evaluates the rule with `self` bound to `value`, of schema type `type_name`.
    pub(super) fn evaluate(&self, value: &Value, type_name: &str) -> Verdict {
        if self.transition && !self.optional_old_self {
            return Verdict::Skipped;
        }
        let program = match &self.program {
            Ok(program) => program,
            Err(why) => return Verdict::NotEvaluated(why.clone()),
        };
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.add_variable_from_value("self", value.clone());
        if self.transition {
            context.add_variable_as_val("oldSelf", Box::new(CelOptional::none()));
        }
        let detail = match program.execute(&context) {
            Ok(Value::Bool(true)) => return Verdict::Pass,
            Ok(Value::Bool(false)) => self.message(&context),
            Ok(other) => {
                return Verdict::NotEvaluated(format!(
                    "it yields a {}, not a bool",
                    other.type_of()
                ));
            }
            // What the API server reports, and refuses the object for.
            Err(
                e @ (ExecutionError::NoSuchKey(_)
                | ExecutionError::IndexOutOfBounds(_)
                | ExecutionError::DivisionByZero(_)
                | ExecutionError::RemainderByZero(_)
                | ExecutionError::Overflow(..)),
            ) => format!(
                "{} evaluating rule: {}",
                lowercase_first(&e.to_string()),
                self.text()
            ),
            // Most likely something cnpgtp lacks (a type, an overload): not the object's fault.
            Err(e) => return Verdict::NotEvaluated(format!("evaluating it failed: {e}")),
        };
        Verdict::Fail(match self.reason.as_deref() {
            Some("FieldValueForbidden") => format!("Forbidden: {detail}"),
            Some("FieldValueRequired") => format!("Required value: {detail}"),
            Some("FieldValueDuplicate") => format!("Duplicate value: {detail}"),
            _ => format!("Invalid value: \"{type_name}\": {detail}"),
        })
    }

    /// `messageExpression` if it yields a non-empty line, else `message`, else the API server's
    /// default.
    fn message(&self, context: &Context) -> String {
        if let Some(Ok(Value::String(text))) =
            self.message_expression.as_ref().map(|m| m.execute(context))
            && !text.trim().is_empty()
            && !text.contains('\n')
        {
            return text.trim().to_string();
        }
        match &self.message {
            Some(message) => message.trim().to_string(),
            None => format!("failed rule: {}", self.text()),
        }
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// A property name as CEL sees it (Kubernetes' escaping), or `None` if CEL cannot name it.
pub(super) fn escape(name: &str) -> Option<String> {
    const RESERVED: &[&str] = &[
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ];
    let first = name.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("__") {
            out.push_str("__underscores__");
            rest = tail;
            continue;
        }
        match c {
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

/// `value` as CEL sees it under `schema`. `meta`: the root or an embedded resource, whose
/// `metadata` shows only `name` and `generateName`.
pub(super) fn to_cel(value: &Json, schema: &Json, meta: bool) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) if schema["type"] == "number" => {
            Value::Float(n.as_f64().unwrap_or(f64::NAN))
        }
        Json::Number(n) => n.as_i64().map_or_else(
            || {
                n.as_u64()
                    .map_or(Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::UInt)
            },
            Value::Int,
        ),
        Json::String(s) if schema["format"] == "byte" && schema["type"] == "string" => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => Value::Bytes(Arc::new(bytes)),
                Err(_) => Value::String(Arc::new(s.clone())),
            }
        }
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => {
            let item = &schema["items"];
            let embedded = is_embedded(item);
            Value::List(Arc::new(
                items.iter().map(|i| to_cel(i, item, embedded)).collect(),
            ))
        }
        Json::Object(map) => {
            let mut out: HashMap<String, Value> = HashMap::new();
            let properties = schema["properties"].as_object();
            if properties.is_some() || meta {
                let metadata = serde_json::json!({"type": "object", "properties": {
                    "name": {"type": "string"}, "generateName": {"type": "string"}}});
                let string = serde_json::json!({"type": "string"});
                for (key, child) in map {
                    let child_schema = match (meta, key.as_str()) {
                        (true, "metadata") => &metadata,
                        (true, "apiVersion" | "kind") => &string,
                        _ => match properties.and_then(|p| p.get(key)) {
                            Some(s) => s,
                            None => continue, // unknown fields are pruned, so CEL never sees them
                        },
                    };
                    if let Some(name) = escape(key) {
                        out.insert(name, to_cel(child, child_schema, is_embedded(child_schema)));
                    }
                }
            } else if let Some(additional) =
                schema.get("additionalProperties").filter(|a| a.is_object())
            {
                let embedded = is_embedded(additional);
                for (key, child) in map {
                    out.insert(key.clone(), to_cel(child, additional, embedded));
                }
            }
            // An object with neither (x-kubernetes-preserve-unknown-fields) is empty to CEL.
            Value::from(out)
        }
    }
}

pub(super) fn is_embedded(schema: &Json) -> bool {
    schema["x-kubernetes-embedded-resource"] == Json::Bool(true)
}
