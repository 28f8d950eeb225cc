//! Checks on merged values: first the shape (JSON Schema of [`Values`], with "did you mean" for
//! unknown keys), then the domain rules serde cannot express (names, SQL identifiers, versions,
//! quantities, which options go together). All problems are returned, not just the first.

use std::sync::OnceLock;

use serde::Deserialize as _;
use serde_json::Value as Json;

use super::layers::{lookup, origin_of};
use super::{
    BundleMechanism, KeyPath, Problem, SecretSource, Segment, ServerIssuerKind, Values,
    VaultAuthKind,
};
use crate::naming::{self, Names};
use crate::yaml::Tree;

pub(super) fn schema_json() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema =
            serde_json::to_value(schemars::schema_for!(Values)).expect("schema serializes");
        schema["title"] = Json::String("cnpgtp values".into());
        schema
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(schema_json()).expect("the values schema is valid")
    })
}

/// Validates the shape of the merged tree and deserializes it.
pub(super) fn typed(tree: &Tree) -> Result<Values, Vec<Problem>> {
    let json = tree.to_json();
    // The schema is generated from the same types, which all deny unknown fields, so values that
    // deserialize are exactly the values the schema accepts. Compiling the validator is the most
    // expensive step of a render: do it only to explain a failure.
    if let Ok(values) = Values::deserialize(&json) {
        return Ok(values);
    }
    let mut problems = Vec::new();
    for error in validator().iter_errors(&json) {
        let path = KeyPath::from_pointer(error.instance_path().as_str());
        match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    let key_path = path.clone().key(key);
                    let known = known_keys(&path);
                    let fix = match closest(key, &known) {
                        Some(best) => {
                            format!("did you mean `{best}`? (`cnpgtp values` lists every key)")
                        }
                        None if known.is_empty() => "remove it".to_string(),
                        None => format!("remove it; keys allowed here: {}", known.join(", ")),
                    };
                    problems.push(Problem::new(
                        Some(key_origin(tree, &key_path)),
                        key_path,
                        "unknown key",
                        fix,
                    ));
                }
            }
            kind => {
                let found = lookup(tree, &path.0).map_or("nothing", Tree::kind_name);
                let (message, fix) = describe(kind, found);
                problems.push(Problem::new(
                    Some(origin_of(tree, &path.0)),
                    path,
                    message,
                    fix,
                ));
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| {
            p.origin
                .as_ref()
                .map(|o| (o.source.clone(), o.line, o.column))
        });
        problems.dedup();
        return Err(problems);
    }
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = KeyPath::parse(&err.path().to_string());
        let origin = origin_of(tree, &path.0);
        vec![Problem::new(
            Some(origin),
            path,
            "this value does not fit the values model",
            "compare it with the same key in `cnpgtp values`",
        )]
    })
}

/// The key's own position (its key token) when the tree has it.
fn key_origin(tree: &Tree, path: &KeyPath) -> crate::yaml::Origin {
    origin_of(tree, &path.0)
}

fn describe(kind: &jsonschema::error::ValidationErrorKind, found: &str) -> (String, String) {
    use jsonschema::error::ValidationErrorKind as Kind;
    match kind {
        Kind::Type { kind } => {
            let expected = format!("{kind:?}")
                .to_lowercase()
                .replace("single(", "")
                .replace("multiple(", "")
                .replace(['(', ')', '[', ']'], "");
            (
                format!("expected {}, found {found}", expected.replace(", ", " or ")),
                "write a value of the expected type (quote strings that look like numbers)".into(),
            )
        }
        Kind::Enum { options } => (
            format!(
                "expected one of {}",
                options
                    .to_string()
                    .trim_matches(['[', ']'])
                    .replace(',', ", ")
            ),
            "pick one of the listed values".into(),
        ),
        Kind::Required { property } => (
            format!("the key {property} is missing"),
            "add the key (see `cnpgtp values` for its default)".into(),
        ),
        Kind::Minimum { .. } | Kind::Maximum { .. } => (
            "the number is out of range".into(),
            "use a value within the documented range".into(),
        ),
        _ => (
            format!("{found} does not match the values schema here"),
            "compare with the same key in `cnpgtp values`".into(),
        ),
    }
}

/// The property names the schema allows at `path`.
fn known_keys(path: &KeyPath) -> Vec<String> {
    let root = schema_json();
    let mut node = resolve(root, root);
    for segment in &path.0 {
        node = match segment {
            Segment::Key(key) => match node.get("properties").and_then(|p| p.get(key)) {
                Some(child) => resolve(root, child),
                None => match node.get("additionalProperties") {
                    Some(child) if child.is_object() => resolve(root, child),
                    _ => return Vec::new(),
                },
            },
            Segment::Index(_) => match node.get("items") {
                Some(child) => resolve(root, child),
                None => return Vec::new(),
            },
        };
    }
    node.get("properties")
        .and_then(Json::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref` and picks the object branch of `anyOf` (how `Option<Struct>` is encoded).
fn resolve<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
    for _ in 0..8 {
        if let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            let pointer = reference.trim_start_matches('#');
            match root.pointer(pointer) {
                Some(target) => node = target,
                None => return node,
            }
        } else if let Some(branch) =
            node.get("anyOf")
                .and_then(Json::as_array)
                .and_then(|branches| {
                    branches
                        .iter()
                        .find(|b| b.get("$ref").is_some() || b.get("properties").is_some())
                })
        {
            node = branch;
        } else {
            return node;
        }
    }
    node
}

fn closest(key: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

/// Collects domain problems (errors) and warnings.
struct Findings<'t> {
    tree: &'t Tree,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Findings<'_> {
    /// An error about the entry `key` of the map at `map`. The key is taken whole: map keys
    /// (label keys, parameter names) may hold `.`, `/` or `[`, which `KeyPath::parse` would split.
    fn error_key(
        &mut self,
        map: &str,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let path = KeyPath::parse(map).key(key);
        self.errors.push(Problem::new(
            Some(origin_of(self.tree, &path.0)),
            path,
            message,
            fix,
        ));
    }

    fn error(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let path = KeyPath::parse(path);
        self.errors.push(Problem::new(
            Some(origin_of(self.tree, &path.0)),
            path,
            message,
            fix,
        ));
    }

    /// An error about `path` whose position is that of `cause` (e.g. a missing key reported at
    /// the user's line that made it necessary).
    fn error_at(
        &mut self,
        path: &str,
        cause: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let origin = origin_of(self.tree, &KeyPath::parse(cause).0);
        self.errors.push(Problem::new(
            Some(origin),
            KeyPath::parse(path),
            message,
            fix,
        ));
    }

    fn warn(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let path = KeyPath::parse(path);
        self.warnings.push(Problem::new(
            Some(origin_of(self.tree, &path.0)),
            path,
            message,
            fix,
        ));
    }
}

/// PostgreSQL majors CloudNativePG 1.29/1.30 support.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 14..=18;

/// The PgBouncer parameters CloudNativePG's webhook accepts (pooler_webhook.go).
pub const POOLER_PARAMETERS: &[&str] = &[
    "application_name_add_host",
    "auth_type",
    "auth_user",
    "autodb_idle_timeout",
    "cancel_wait_timeout",
    "client_idle_timeout",
    "client_login_timeout",
    "client_tls_ciphers",
    "client_tls_sslmode",
    "client_tls13_ciphers",
    "default_pool_size",
    "disable_pqexec",
    "dns_max_ttl",
    "dns_nxdomain_ttl",
    "idle_transaction_timeout",
    "ignore_startup_parameters",
    "listen_backlog",
    "log_connections",
    "log_disconnections",
    "log_pooler_errors",
    "log_stats",
    "max_client_conn",
    "max_db_connections",
    "max_packet_size",
    "max_prepared_statements",
    "max_user_connections",
    "min_pool_size",
    "pkt_buf",
    "query_timeout",
    "query_wait_timeout",
    "reserve_pool_size",
    "reserve_pool_timeout",
    "sbuf_loopcnt",
    "server_check_delay",
    "server_check_query",
    "server_connect_timeout",
    "server_fast_close",
    "server_idle_timeout",
    "server_lifetime",
    "server_login_retry",
    "server_reset_query",
    "server_reset_query_always",
    "server_round_robin",
    "server_tls_ciphers",
    "server_tls13_ciphers",
    "server_tls_protocols",
    "server_tls_sslmode",
    "stats_period",
    "suspend_timeout",
    "tcp_defer_accept",
    "tcp_socket_buffer",
    "tcp_keepalive",
    "tcp_keepcnt",
    "tcp_keepidle",
    "tcp_keepintvl",
    "tcp_user_timeout",
    "track_extra_parameters",
    "verbose",
];

/// PostgreSQL parameters CloudNativePG fixes itself; setting them is rejected by its webhook or
/// silently overridden.
const FIXED_PARAMETERS: &[&str] = &[
    "allow_system_table_mods",
    "archive_cleanup_command",
    "archive_command",
    "archive_mode",
    "config_file",
    "data_directory",
    "external_pid_file",
    "hba_file",
    "ident_file",
    "listen_addresses",
    "log_destination",
    "log_directory",
    "log_file_mode",
    "log_filename",
    "logging_collector",
    "port",
    "primary_conninfo",
    "primary_slot_name",
    "promote_trigger_file",
    "recovery_target",
    "restore_command",
    "ssl",
    "ssl_ca_file",
    "ssl_cert_file",
    "ssl_crl_file",
    "ssl_key_file",
    "ssl_passphrase_command",
    "unix_socket_directories",
    "unix_socket_group",
    "unix_socket_permissions",
];

/// PostgreSQL's reserved key words: an identifier equal to one of them would need quoting.
const SQL_RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "public",
    "none",
];

/// Whether `name` can be written in SQL without quotes and means the same everywhere.
pub fn is_plain_sql_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
        && !SQL_RESERVED.contains(&name)
}

fn is_reserved_role(name: &str) -> bool {
    name == "postgres"
        || name == "streaming_replica"
        || name.starts_with("pg_")
        || name.starts_with("cnpg_")
}

/// A Kubernetes quantity (`10Gi`, `500m`, `1.5G`, `2e3`).
pub fn is_quantity(text: &str) -> bool {
    let suffixes = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", "",
    ];
    suffixes.iter().any(|suffix| {
        text.strip_suffix(suffix).is_some_and(|number| {
            let mut parts = number.splitn(2, '.');
            let whole = parts.next().unwrap_or("");
            let fraction = parts.next();
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// A Go duration as cert-manager parses it (`87600h`, `1h30m`).
pub fn is_go_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// An argocd-vault-plugin placeholder such as `<path:kv/data/db#password>` or `<password>`.
pub fn is_placeholder(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('<') && trimmed.ends_with('>') && !trimmed.contains('\n')
}

fn is_label_value(text: &str) -> bool {
    text.is_empty()
        || (text.len() <= 63
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && text.as_bytes()[0].is_ascii_alphanumeric()
            && text.as_bytes()[text.len() - 1].is_ascii_alphanumeric())
}

fn is_label_key(text: &str) -> bool {
    let (prefix, name) = text
        .rsplit_once('/')
        .map_or((None, text), |(p, n)| (Some(p), n));
    prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(naming::is_dns_label))
        && !name.is_empty()
        && is_label_value(name)
}

fn is_dns_name(text: &str) -> bool {
    let body = text.strip_prefix("*.").unwrap_or(text);
    !body.is_empty() && body.len() <= 253 && body.split('.').all(naming::is_dns_label)
}

/// Runs every domain rule; returns (errors, warnings).
pub(super) fn domain(values: &Values, tree: &Tree) -> (Vec<Problem>, Vec<Problem>) {
    let mut f = Findings {
        tree,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    names(values, &mut f);
    postgres(values, &mut f);
    roles(values, &mut f);
    tls(values, &mut f);
    secrets(values, &mut f);
    pooler(values, &mut f);
    teleport(values, &mut f);
    for list in [&mut f.errors, &mut f.warnings] {
        list.sort_by_key(|p| {
            p.origin
                .as_ref()
                .map(|o| (o.source.clone(), o.line, o.column))
        });
    }
    (f.errors, f.warnings)
}

fn names(values: &Values, f: &mut Findings) {
    let names = Names::new(&values.name);
    if naming::is_dns_label(&values.name) {
        if let Some(long) = names
            .all()
            .into_iter()
            .find(|n| n.len() > naming::MAX_LABEL_LEN)
        {
            f.error(
                "name",
                format!("the derived object name `{long}` is longer than 63 characters"),
                format!(
                    "shorten `name` to at most {} characters",
                    values.name.len() - (long.len() - naming::MAX_LABEL_LEN)
                ),
            );
        }
    } else {
        f.error(
            "name",
            "not a valid name: Kubernetes needs a DNS-1123 label (a-z, 0-9, '-', at most 63 characters, starting and ending alphanumeric)",
            "use something like `orders-db`",
        );
    }
    if !naming::is_dns_label(&values.namespace) {
        f.error(
            "namespace",
            "not a valid namespace (DNS-1123 label)",
            "use something like `databases`",
        );
    }
    if !is_label_value(&values.stage) {
        f.error(
            "stage",
            "not a valid label value",
            "use letters, digits, '-', '_' or '.', at most 63 characters",
        );
    }
    for (key, value) in &values.labels {
        if !is_label_key(key) {
            f.error_key(
                "labels",
                key,
                "not a valid label key",
                "use an optional DNS prefix, '/', and a name such as `team`",
            );
        }
        if !is_label_value(value) {
            f.error_key(
                "labels",
                key,
                "not a valid label value",
                "use letters, digits, '-', '_' or '.', at most 63 characters",
            );
        }
    }
}

fn postgres(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    if !SUPPORTED_MAJORS.contains(&pg.major) {
        f.error(
            "postgres.major",
            format!(
                "PostgreSQL {} is not supported by CloudNativePG 1.29/1.30",
                pg.major
            ),
            "use a major version from 14 to 18",
        );
    }
    if let Some(image) = &pg.image {
        let tag = image.rsplit_once(':').map_or("", |(_, t)| t);
        let tag_major = tag.split(['.', '-']).next().unwrap_or("");
        if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
            f.error(
                "postgres.image",
                "not a valid image reference",
                "write registry/repository:tag",
            );
        } else if tag_major != pg.major.to_string() {
            f.error(
                "postgres.image",
                format!("the image tag must start with the major version {} (CloudNativePG reads the major from the tag)", pg.major),
                "use a tag such as `18.6-minimal-trixie`, or set postgres.major to match",
            );
        }
    }
    if pg.instances < 1 {
        f.error(
            "postgres.instances",
            "at least one instance is needed",
            "set postgres.instances to 1 or more",
        );
    }
    if !is_quantity(&pg.storage.size) {
        f.error(
            "postgres.storage.size",
            "not a Kubernetes quantity",
            "write a size such as `20Gi`",
        );
    }
    if let Some(size) = &pg.wal_storage.size
        && !is_quantity(size)
    {
        f.error(
            "postgres.walStorage.size",
            "not a Kubernetes quantity",
            "write a size such as `5Gi`, or null for no WAL volume",
        );
    }
    for (key, class) in [
        ("storage", &pg.storage.storage_class),
        ("walStorage", &pg.wal_storage.storage_class),
    ] {
        if class.as_ref().is_some_and(|c| !is_dns_name(c)) {
            f.error(
                &format!("postgres.{key}.storageClass"),
                "not a valid StorageClass name",
                "name an existing StorageClass (`kubectl get storageclass`), or null for the default",
            );
        }
    }
    for (key, value) in [("cpu", &pg.resources.cpu), ("memory", &pg.resources.memory)] {
        if value.as_ref().is_some_and(|v| !is_quantity(v)) {
            f.error(
                &format!("postgres.resources.{key}"),
                "not a Kubernetes quantity",
                "write e.g. `500m` (cpu) or `2Gi` (memory)",
            );
        }
    }
    for key in pg.parameters.keys() {
        let valid = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if !valid {
            f.error_key(
                "postgres.parameters",
                key,
                "not a PostgreSQL parameter name",
                "parameter names are lower case, e.g. `max_connections`",
            );
        } else if FIXED_PARAMETERS.contains(&key.as_str()) {
            f.error_key(
                "postgres.parameters",
                key,
                "CloudNativePG manages this parameter itself",
                "remove it",
            );
        }
    }
    for (key, value) in &pg.node_selector {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                "postgres.nodeSelector",
                key,
                "not a valid node label",
                "use a label key and value as on your nodes",
            );
        }
    }
    if let Some(class) = &pg.priority_class_name
        && !is_dns_name(class)
    {
        f.error(
            "postgres.priorityClassName",
            "not a valid PriorityClass name",
            "use the name of an existing PriorityClass",
        );
    }
    if !is_label_key(&pg.topology_spread.topology_key) {
        f.error(
            "postgres.topologySpread.topologyKey",
            "not a valid node label key",
            "use e.g. `topology.kubernetes.io/zone`",
        );
    }
    if pg.enable_superuser_access {
        f.warn(
            "postgres.enableSuperuserAccess",
            "superuser access over the network is on",
            "leave it off unless you need it; use `kubectl cnpg psql` for administration",
        );
    }
    // The minimal images carry no locale data besides C, POSIX and C.UTF-8; initdb would fail.
    if pg.image.is_none() && pg.image_flavour == super::ImageFlavour::Minimal {
        for (key, value) in [
            ("localeCollate", &values.database.locale_collate),
            ("localeCType", &values.database.locale_c_type),
        ] {
            if !["C", "POSIX", "C.UTF-8", "C.utf8"].contains(&value.as_str()) {
                f.error(
                    &format!("database.{key}"),
                    "the minimal PostgreSQL image has only the C, POSIX and C.UTF-8 locales: initdb would fail",
                    "set postgres.imageFlavour: standard (adds every locale), or use C or C.UTF-8",
                );
            }
        }
    }
    let db = &values.database;
    for (key, value) in [
        ("encoding", &db.encoding),
        ("localeCollate", &db.locale_collate),
        ("localeCType", &db.locale_c_type),
    ] {
        let valid = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
        if !valid {
            f.error(
                &format!("database.{key}"),
                "not a valid encoding or locale name",
                "use e.g. `UTF8`, `C` or `en_US.UTF-8`",
            );
        }
    }
}

fn identifier(f: &mut Findings, path: &str, name: &str, what: &str) {
    if !is_plain_sql_identifier(name) {
        f.error(
            path,
            format!("not a plain SQL identifier for a {what}: it would need quoting in SQL"),
            "use lower-case letters, digits and `_`, starting with a letter, not a reserved word, at most 63 characters",
        );
    }
}

fn roles(values: &Values, f: &mut Findings) {
    let db = &values.database;
    identifier(f, "database.name", &db.name, "database");
    if ["postgres", "template0", "template1"].contains(&db.name.as_str()) {
        f.error(
            "database.name",
            "this database exists already in every cluster",
            "pick an application database name such as `app`",
        );
    }
    identifier(f, "database.owner", &db.owner, "role");
    if is_reserved_role(&db.owner) {
        f.error(
            "database.owner",
            "reserved role name",
            "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
        );
    }
    let mut seen: Vec<(String, String)> = vec![(db.owner.clone(), "database.owner".into())];
    let login_roles = [
        ("access.readUser", &values.access.read_user),
        ("access.writeUser", &values.access.write_user),
    ];
    for (path, role) in login_roles {
        let name_path = format!("{path}.name");
        identifier(f, &name_path, &role.name, "role");
        if is_reserved_role(&role.name) {
            f.error(
                &name_path,
                "reserved role name",
                "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
            );
        }
        if role.connection_limit < -1 {
            f.error(
                &format!("{path}.connectionLimit"),
                "must be -1 (no limit) or more",
                "set a limit such as 20",
            );
        }
        seen.push((role.name.clone(), name_path));
    }
    for (i, role) in values.roles.iter().enumerate() {
        let name_path = format!("roles[{i}].name");
        identifier(f, &name_path, &role.name, "role");
        if is_reserved_role(&role.name) {
            f.error(
                &name_path,
                "reserved role name",
                "pick a name that is not postgres, streaming_replica, pg_* or cnpg_*",
            );
        }
        for (j, member) in role.in_roles.iter().enumerate() {
            let valid = is_plain_sql_identifier(member)
                || (member.starts_with("pg_")
                    && member.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if !valid {
                f.error(
                    &format!("roles[{i}].inRoles[{j}]"),
                    "not a plain SQL role name",
                    "use an existing role such as `pg_read_all_data`",
                );
            }
        }
        if role.connection_limit < -1 {
            f.error(
                &format!("roles[{i}].connectionLimit"),
                "must be -1 (no limit) or more",
                "set a limit such as 20",
            );
        }
        if let Some(secret) = &role.password_secret
            && !is_dns_name(secret)
        {
            f.error(
                &format!("roles[{i}].passwordSecret"),
                "not a valid Secret name",
                "name an existing kubernetes.io/basic-auth Secret",
            );
        }
        if role.certificate_login && !role.login {
            f.error(
                &format!("roles[{i}].certificateLogin"),
                "certificate login needs `login: true`",
                "set login: true",
            );
        }
        seen.push((role.name.clone(), name_path));
    }
    for (i, (name, path)) in seen.iter().enumerate() {
        if let Some((_, first)) = seen[..i].iter().find(|(other, _)| other == name) {
            f.error(
                path,
                format!("this role name is already used by {first}"),
                "give every role its own name",
            );
        }
    }
}

fn tls(values: &Values, f: &mut Findings) {
    let t = &values.tls;
    for (path, lifetime) in [
        ("tls.clientCa", &t.client_ca),
        ("tls.clientCertificates", &t.client_certificates),
    ] {
        duration(f, &format!("{path}.duration"), &lifetime.duration);
        duration(f, &format!("{path}.renewBefore"), &lifetime.renew_before);
    }
    duration(f, "tls.server.duration", &t.server.duration);
    duration(f, "tls.server.renewBefore", &t.server.renew_before);
    for (i, name) in t.server.extra_dns_names.iter().enumerate() {
        if !is_dns_name(name) {
            f.error(
                &format!("tls.server.extraDnsNames[{i}]"),
                "not a DNS name",
                "write a host name such as `db.example.com`",
            );
        }
    }
    match t.server.issuer {
        ServerIssuerKind::SelfSigned => {}
        ServerIssuerKind::Existing => {
            if t.server
                .existing_issuer
                .name
                .as_ref()
                .is_none_or(|n| !is_dns_name(n))
            {
                f.error_at(
                    "tls.server.existingIssuer.name",
                    "tls.server.issuer",
                    "`issuer: existing` needs the name of an Issuer or ClusterIssuer",
                    "set tls.server.existingIssuer.name",
                );
            }
        }
        ServerIssuerKind::Vault => {
            let vault = &t.server.vault;
            if vault.server.as_ref().is_none_or(|s| {
                !(s.starts_with("https://") || s.starts_with("http://") || is_placeholder(s))
            }) {
                f.error_at(
                    "tls.server.vault.server",
                    "tls.server.issuer",
                    "`issuer: vault` needs the Vault address",
                    "set e.g. https://vault.example.com:8200",
                );
            }
            if vault.path.as_ref().is_none_or(String::is_empty) {
                f.error_at(
                    "tls.server.vault.path",
                    "tls.server.issuer",
                    "`issuer: vault` needs the PKI sign path",
                    "set e.g. pki_int/sign/postgres",
                );
            }
            match vault.auth {
                VaultAuthKind::AppRole => {
                    if vault.app_role.role_id.as_ref().is_none_or(String::is_empty) {
                        f.error_at(
                            "tls.server.vault.appRole.roleId",
                            "tls.server.vault.auth",
                            "AppRole authentication needs the role ID",
                            "set the role ID or a placeholder",
                        );
                    }
                    secret_source(
                        f,
                        "tls.server.vault.appRole.secretId",
                        &vault.app_role.secret_id,
                        true,
                    );
                }
                VaultAuthKind::Kubernetes => {
                    if vault.kubernetes.role.as_ref().is_none_or(String::is_empty) {
                        f.error_at(
                            "tls.server.vault.kubernetes.role",
                            "tls.server.vault.auth",
                            "Kubernetes authentication needs the Vault role",
                            "set the role bound to the issuer's ServiceAccount",
                        );
                    }
                    // Both go into the token RoleBinding's subject: invalid names pass the
                    // render and fail at apply time.
                    if !is_dns_name(&vault.kubernetes.cert_manager_service_account) {
                        f.error(
                            "tls.server.vault.kubernetes.certManagerServiceAccount",
                            "not a valid ServiceAccount name",
                            "name cert-manager's ServiceAccount, e.g. `cert-manager`",
                        );
                    }
                    if !naming::is_dns_label(&vault.kubernetes.cert_manager_namespace) {
                        f.error(
                            "tls.server.vault.kubernetes.certManagerNamespace",
                            "not a valid namespace",
                            "name the namespace cert-manager runs in, e.g. `cert-manager`",
                        );
                    }
                }
            }
        }
    }
    ca_source(f, "tls.server.ca", &t.server.ca, false);
    ca_source(
        f,
        "teleport.databaseClientCa",
        &values.teleport.database_client_ca,
        true,
    );
    if !is_go_duration(&values.client_ca_bundle.refresh_interval) {
        f.error(
            "clientCaBundle.refreshInterval",
            "not a Go duration",
            "write e.g. `1h` or `10m`",
        );
    }
    if values.client_ca_bundle.mechanism == BundleMechanism::SyncWorkload {
        sync_workload(&values.client_ca_bundle.sync_workload, f);
    }
}

/// `clientCaBundle.syncWorkload`: a pinned image and valid quantities.
/// An image a user may choose: a well-formed reference, pinned by tag or digest.
fn pinned_image(f: &mut Findings, path: &str, image: &str, example: &str) {
    let reference = image
        .split_once('@')
        .map_or(image, |(reference, _)| reference);
    // The repository is what precedes the tag (a registry port has a `/` after its `:`).
    let repository = match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => reference,
    };
    let shape_ok = !repository.is_empty()
        && !image.chars().any(char::is_whitespace)
        && !repository.chars().any(|c| c.is_ascii_uppercase());
    if !shape_ok {
        f.error(
            path,
            "not an image reference",
            format!("write e.g. `{example}`"),
        );
    } else if let Some(problem) = super::image_problem(image) {
        f.error(
            path,
            problem,
            "add a version tag, ideally with its digest: `repo:1.34.5@sha256:...`",
        );
    }
}

fn sync_workload(sync: &super::SyncWorkload, f: &mut Findings) {
    pinned_image(
        f,
        "clientCaBundle.syncWorkload.image",
        &sync.image,
        "docker.io/alpine/k8s:1.34.5",
    );
    let resources = &sync.resources;
    for (key, value) in [
        ("cpu", &resources.cpu),
        ("memory", &resources.memory),
        ("memoryLimit", &resources.memory_limit),
    ] {
        if !is_quantity(value) {
            f.error(
                &format!("clientCaBundle.syncWorkload.resources.{key}"),
                "not a Kubernetes quantity",
                "write e.g. `10m`, `64Mi` or `256Mi`",
            );
        }
    }
}

fn duration(f: &mut Findings, path: &str, text: &str) {
    if !is_go_duration(text) {
        f.error(
            path,
            "not a Go duration",
            "write e.g. `2160h` (90 days) or `720h`",
        );
    }
}

fn ca_source(f: &mut Findings, path: &str, source: &super::CaSource, required: bool) {
    match (&source.pem, &source.existing_secret) {
        (Some(_), Some(_)) => f.error_at(
            path,
            &format!("{path}.pem"),
            "set either `pem` or `existingSecret`, not both",
            "remove one of them",
        ),
        (None, None) if required => f.error(
            path,
            "a CA certificate is needed",
            "set `pem` (PEM text or a placeholder) or `existingSecret`",
        ),
        (Some(pem), None) => {
            if !(is_placeholder(pem) || pem.contains("-----BEGIN CERTIFICATE-----")) {
                f.error(
                    &format!("{path}.pem"),
                    "neither a PEM certificate nor an argocd-vault-plugin placeholder",
                    "paste the PEM (-----BEGIN CERTIFICATE----- ...) or write <path:...#key>",
                );
            }
        }
        (None, Some(name)) => {
            if !is_dns_name(name) {
                f.error(
                    &format!("{path}.existingSecret"),
                    "not a valid Secret name",
                    "name an existing Secret with a `ca.crt` key",
                );
            }
        }
        (None, None) => {}
    }
}

fn secret_source(f: &mut Findings, path: &str, source: &SecretSource, required: bool) {
    match (&source.existing_secret, &source.value) {
        (Some(_), Some(_)) => f.error_at(
            path,
            &format!("{path}.value"),
            "set either `existingSecret` or `value`, not both",
            "remove one of them",
        ),
        (None, None) if required => f.error(
            path,
            "a secret is needed here",
            "set `existingSecret` or `value` (preferably a <path:...> placeholder)",
        ),
        (Some(name), None) => {
            if !is_dns_name(name) {
                f.error(
                    &format!("{path}.existingSecret"),
                    "not a valid Secret name",
                    "name an existing Secret",
                );
            }
        }
        (None, Some(value)) => {
            if value.is_empty() {
                f.error(
                    &format!("{path}.value"),
                    "empty secret value",
                    "set a value or use existingSecret",
                );
            } else if !is_placeholder(value) {
                f.warn(
                    &format!("{path}.value"),
                    "a plaintext secret is written in the values",
                    "use `existingSecret` or an argocd-vault-plugin placeholder such as <path:kv/data/db#password>",
                );
            }
        }
        (None, None) => {}
    }
}

fn secrets(values: &Values, f: &mut Findings) {
    secret_source(
        f,
        "database.ownerPassword",
        &values.database.owner_password,
        false,
    );
}

fn pooler(values: &Values, f: &mut Findings) {
    let p = &values.pooler;
    if p.enabled && p.instances < 1 {
        f.error(
            "pooler.instances",
            "an enabled pooler needs at least one instance",
            "set pooler.instances to 1 or more, or pooler.enabled to false",
        );
    }
    if p.read_only && !p.enabled {
        f.error(
            "pooler.readOnly",
            "a read-only pooler needs `pooler.enabled: true`",
            "enable the pooler or set readOnly to false",
        );
    }
    if p.read_only && values.postgres.instances < 2 {
        f.error(
            "pooler.readOnly",
            "a read-only pooler needs replicas (postgres.instances >= 2)",
            "add instances or set readOnly to false",
        );
    }
    for key in p.parameters.keys() {
        if !POOLER_PARAMETERS.contains(&key.as_str()) {
            let known: Vec<String> = POOLER_PARAMETERS.iter().map(ToString::to_string).collect();
            let fix = closest(key, &known).map_or_else(
                || "remove it; CloudNativePG's documentation lists the accepted PgBouncer parameters".to_string(),
                |best| format!("did you mean `{best}`?"),
            );
            f.error_key(
                "pooler.parameters",
                key,
                "CloudNativePG does not accept this PgBouncer parameter",
                fix,
            );
        }
    }
}

/// Teleport accepts database names matching `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`; the
/// operator also uses the name as a Kubernetes name, so cnpgtp requires a lower-case DNS label
/// that starts with a letter.
fn is_teleport_name(name: &str) -> bool {
    naming::is_dns_label(name) && name.as_bytes()[0].is_ascii_lowercase()
}

fn teleport(values: &Values, f: &mut Findings) {
    use super::{DeletionHook, JobIdentity, Registration};
    let t = &values.teleport;
    // Names derived from an invalid `name` or `namespace` would only repeat that error.
    let roots_valid = naming::is_dns_label(&values.name) && naming::is_dns_label(&values.namespace);
    let prefix = values.teleport_database_prefix();
    let longest = format!("{prefix}-ro");
    if !is_teleport_name(&longest) && (roots_valid || t.database_name.is_some()) {
        let path = if t.database_name.is_some() {
            "teleport.databaseName"
        } else {
            "namespace"
        };
        f.error(
            path,
            format!("the Teleport database names `{prefix}-rw`/`-ro` are not valid: they need a letter first, then letters, digits and '-', at most 63 characters"),
            "set teleport.databaseName to a short name such as `orders-prod`",
        );
    }
    if !is_label_value(&t.kubernetes_cluster) || t.kubernetes_cluster.is_empty() {
        f.error(
            "teleport.kubernetesCluster",
            "not a valid label value",
            "name this Kubernetes cluster, e.g. `prod-eu-1`",
        );
    }
    for (key, value) in &t.labels {
        if !is_label_key(key) || !is_label_value(value) {
            f.error_key(
                "teleport.labels",
                key,
                "not a valid label",
                "use Kubernetes-style label keys and values",
            );
        }
    }
    let version_ok = t.version.split('.').count() == 3
        && t.version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !version_ok {
        f.error(
            "teleport.version",
            "not a Teleport version",
            "write it as MAJOR.MINOR.PATCH, e.g. 18.7.3",
        );
    }
    let role_name = values.teleport_role_name();
    if !naming::is_dns_label(&role_name)
        && (roots_valid || t.role.name.is_some() || t.database_name.is_some())
    {
        let path = if t.role.name.is_some() {
            "teleport.role.name"
        } else {
            "teleport.databaseName"
        };
        f.error(
            path,
            format!("the Teleport role name `{role_name}` is not a valid name"),
            "set teleport.role.name to a DNS label such as `orders-db-access`",
        );
    }
    if !naming::is_dns_label(&t.operator.namespace) {
        f.error(
            "teleport.operator.namespace",
            "not a valid namespace",
            "name the namespace the Teleport operator runs in",
        );
    }
    let needs_proxy = matches!(t.registration, Registration::Job | Registration::Agent);
    if needs_proxy {
        let valid = t.proxy_address.as_ref().is_some_and(|a| {
            a.rsplit_once(':').is_some_and(|(host, port)| {
                is_dns_name(host) && port.parse::<u16>().is_ok_and(|p| p > 0)
            })
        });
        if !valid {
            f.error_at(
                "teleport.proxyAddress",
                "teleport.registration",
                "the job and agent registrations need the Teleport proxy address as host:port",
                "set teleport.proxyAddress, e.g. teleport.example.com:443",
            );
        }
    }
    match t.registration {
        Registration::Operator if values.tls.server.ca.pem.is_none() => {
            f.error_at(
                "teleport.registration",
                "teleport.registration",
                "the operator registration puts the server CA inline into each TeleportDatabaseV3, but this server CA only exists inside the cluster (generated, or in an existing Secret)",
                "set tls.server.ca.pem (PEM or a <path:...> placeholder), or use `registration: job` or `agent`, which read the CA in the cluster",
            );
        }
        Registration::Job => {
            if t.job.identity == JobIdentity::ExistingSecret
                && t.job
                    .identity_secret
                    .as_ref()
                    .is_none_or(|s| !is_dns_name(s))
            {
                f.error_at("teleport.job.identitySecret", "teleport.job.identity", "`identity: existingSecret` needs the name of the Secret holding the identity file", "set teleport.job.identitySecret");
            }
            if t.job.identity == JobIdentity::MachineId
                && t.job.deletion_hook == DeletionHook::PostDelete
            {
                f.error(
                    "teleport.job.deletionHook",
                    "a PostDelete hook runs after the Job's ServiceAccount is deleted, so Machine ID cannot join",
                    "use `preDelete` (ArgoCD >= 3.3), or `identity: existingSecret`",
                );
            }
            if t.job.join_token.is_empty() {
                f.error(
                    "teleport.job.joinToken",
                    "empty join token name",
                    "name the Teleport join token for the Job's bot",
                );
            }
            pinned_image(
                f,
                "teleport.job.shellImage",
                &t.job.shell_image,
                "docker.io/library/busybox:1.37.0",
            );
        }
        Registration::Agent => {
            if t.agent.replicas < 1 {
                f.error(
                    "teleport.agent.replicas",
                    "the agent needs at least one replica",
                    "set 1 or more",
                );
            }
            if t.agent.join_token.is_empty() {
                f.error(
                    "teleport.agent.joinToken",
                    "empty join token name",
                    "name the Teleport join token for the agent",
                );
            }
        }
        Registration::Operator | Registration::None => {}
    }
    if t.role.render && t.registration != Registration::Operator {
        f.error(
            "teleport.role.render",
            "the role resource is rendered only in operator mode",
            "print it with `cnpgtp teleport role` and apply it with `tctl create -f`",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_plain_sql_identifier("teleport_user_read"));
        assert!(!is_plain_sql_identifier("User"));
        assert!(!is_plain_sql_identifier("user"));
        assert!(!is_plain_sql_identifier("a;drop"));
        assert!(!is_plain_sql_identifier("1a"));
        assert!(!is_plain_sql_identifier(&"a".repeat(64)));
    }

    #[test]
    fn quantities_and_durations() {
        for ok in ["10Gi", "500m", "1.5G", "1", "0"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["10 Gi", "Gi", "10GB", "-1", "1."] {
            assert!(!is_quantity(bad), "{bad}");
        }
        for ok in ["87600h", "1h30m", "720h", "90s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "10d", "h"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
