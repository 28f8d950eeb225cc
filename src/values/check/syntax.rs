//! The predicates the domain rules share: SQL identifiers, Kubernetes quantities and names,
//! label keys and values, Go durations, argocd-vault-plugin placeholders.
//!
//! They answer "is this text well formed?" and nothing else, so every rule that takes, say, a
//! Secret name accepts exactly the same names, and a fix to a predicate fixes every key at once.

use crate::naming;

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

/// A Kubernetes quantity as apimachinery's `resource.ParseQuantity` reads it (the parse behind
/// CloudNativePG's `validateStorageConfigurationSize` and every resource request): an optional
/// `+`, digits with an optional `.` fraction (`1.5`, `.5`, `1.`), then a suffix: none, `Ki` to
/// `Ei`, `n`, `u`, `m`, `k`, `M` to `E`, or an exponent `e3`/`E-2`. cnpgtp also refuses what
/// Kubernetes would parse but no size or request means: a negative number, or no digits at all.
pub fn is_quantity(text: &str) -> bool {
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    let number_len = unsigned
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, suffix) = unsigned.split_at(number_len);
    let one_point = number.bytes().filter(|b| *b == b'.').count() <= 1;
    let has_digit = number.bytes().any(|b| b.is_ascii_digit());
    let known_suffix = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ]
    .contains(&suffix);
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .is_some_and(|e| !e.is_empty() && e.parse::<i64>().is_ok());
    one_point && has_digit && (known_suffix || exponent)
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

/// The value of a Kubernetes quantity (`256Mi` -> 268435456, `500m` -> 0.5), or `None`.
pub fn quantity_value(text: &str) -> Option<f64> {
    if !is_quantity(text) {
        return None;
    }
    let digits = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-'))
        .count();
    let number: f64 = text[..digits].parse().ok()?;
    let scale = match &text[digits..] {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exponent => 10.0_f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * scale)
}

/// An encoding or locale name as `CREATE DATABASE` and initdb take them (`UTF8`,
/// `en_US.UTF-8`, `de_DE@euro`).
pub fn is_locale_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'))
}

/// Lower-case letters, digits, `_` and `-`, starting with a letter, at most 63 bytes: a role
/// name cnpgtp always quotes, an extension's control-file name (`uuid-ossp`).
pub fn is_dashed_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// A Prometheus duration in seconds (`model.ParseDuration`: units `y w d h m s ms` in that
/// order, each at most once, integers only; `0` alone), or `None`. What a PrometheusRule's
/// `for` accepts (the CRD's pattern is the same).
pub fn prometheus_duration_seconds(text: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 7] = [
        ("y", 365.0 * 86400.0),
        ("w", 7.0 * 86400.0),
        ("d", 86400.0),
        ("h", 3600.0),
        ("m", 60.0),
        ("s", 1.0),
        ("ms", 1e-3),
    ];
    if text == "0" {
        return Some(0.0);
    }
    let mut rest = text;
    let mut total = 0.0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // `ms` before `m`: the longer unit wins, as in Prometheus' regular expression.
        let (index, (unit, scale)) = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len())?;
        total += number * scale;
        rest = &rest[unit.len()..];
        next_unit = index + 1;
    }
    (!text.is_empty()).then_some(total)
}

/// A Go duration in seconds (`time.ParseDuration`: `87600h`, `1h30m`, `1.5h`), or `None`.
pub fn go_duration_seconds(text: &str) -> Option<f64> {
    if !is_go_duration(text) {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .into_iter()
        .filter(|(u, _)| rest.starts_with(u))
        .max_by_key(|(u, _)| u.len())?;
        total += number * scale;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// An argocd-vault-plugin placeholder such as `<path:kv/data/db#password>` or `<password>`.
pub fn is_placeholder(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('<') && trimmed.ends_with('>') && !trimmed.contains('\n')
}

pub(super) fn is_label_value(text: &str) -> bool {
    text.is_empty()
        || (text.len() <= 63
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && text.as_bytes()[0].is_ascii_alphanumeric()
            && text.as_bytes()[text.len() - 1].is_ascii_alphanumeric())
}

pub(super) fn is_label_key(text: &str) -> bool {
    let (prefix, name) = text
        .rsplit_once('/')
        .map_or((None, text), |(p, n)| (Some(p), n));
    prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(naming::is_dns_label))
        && !name.is_empty()
        && is_label_value(name)
}

pub(super) fn is_dns_name(text: &str) -> bool {
    let body = text.strip_prefix("*.").unwrap_or(text);
    !body.is_empty() && body.len() <= 253 && body.split('.').all(naming::is_dns_label)
}

/// A Kubernetes object name (a DNS subdomain): `is_dns_name` without the wildcard it allows
/// for certificate names.
pub(super) fn is_object_name(text: &str) -> bool {
    !text.starts_with("*.") && is_dns_name(text)
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
        for ok in [
            "10Gi", "500m", "1.5G", "1", "0", "1e3", "2E-2", "1e+3", ".5Gi", "+10Gi", "1.Gi",
        ] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["10 Gi", "Gi", "10GB", "-1", "1.2.3", "1e", "10Kb", "", "."] {
            assert!(!is_quantity(bad), "{bad}");
        }
        for ok in ["87600h", "1h30m", "720h", "90s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "10d", "h"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn prometheus_durations_as_prometheus_parses_them() {
        for (text, seconds) in [
            ("0", 0.0),
            ("5m", 300.0),
            ("1h30m", 5400.0),
            ("26h", 93600.0),
            ("1d", 86400.0),
            ("500ms", 0.5),
            ("1m5ms", 60.005),
            ("2w", 1_209_600.0),
        ] {
            assert_eq!(prometheus_duration_seconds(text), Some(seconds), "{text}");
        }
        for bad in ["", "5", "1.5h", "30m1h", "1h1h", "5M", "-5m", "5 m", "m"] {
            assert_eq!(prometheus_duration_seconds(bad), None, "{bad}");
        }
    }
}
