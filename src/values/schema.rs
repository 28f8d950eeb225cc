//! The JSON Schema of the values file that `cnpgtp schema` prints and `values.schema.json`
//! holds: the schema the values are validated with, relaxed for partial files and tightened
//! with the domain limits an editor can check.

use serde_json::json;

use super::check;

/// The JSON Schema of the values file, for editors (`# yaml-language-server: $schema=...`).
///
/// Partial values files are the recommended style (the embedded defaults fill in the rest), so
/// only the keys of list items, which get no defaults, are required; and the schema carries the
/// domain limits an editor can check (majors, name patterns).
pub fn schema() -> serde_json::Value {
    let mut schema = check::schema_json().clone();
    strip_required(&mut schema);
    let limits = [
        (
            "/properties/name",
            json!({"pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$", "maxLength": 41}),
        ),
        (
            "/properties/namespace",
            json!({"pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}),
        ),
        (
            "/$defs/Postgres/properties/major",
            json!({"minimum": 14, "maximum": 18}),
        ),
        (
            "/$defs/Postgres/properties/instances",
            json!({"minimum": 1}),
        ),
        (
            "/$defs/Backup/properties/retentionPolicy",
            json!({"pattern": "^[1-9][0-9]*[dwm]$"}),
        ),
    ];
    for (pointer, extra) in limits {
        if let (Some(serde_json::Value::Object(target)), serde_json::Value::Object(extra)) =
            (schema.pointer_mut(pointer), extra)
        {
            target.extend(extra);
        }
    }
    schema
}

/// Types whose values are list items: their keys have no defaults to fall back on.
const LIST_ITEM_TYPES: &[&str] = &["ExtraRole", "Schedule", "ExternalCluster"];

fn strip_required(schema: &mut serde_json::Value) {
    if let Some(root) = schema.as_object_mut() {
        root.remove("required");
    }
    if let Some(serde_json::Value::Object(defs)) = schema.get_mut("$defs") {
        for (name, def) in defs.iter_mut() {
            if !LIST_ITEM_TYPES.contains(&name.as_str())
                && let Some(object) = def.as_object_mut()
            {
                object.remove("required");
            }
        }
    }
}
