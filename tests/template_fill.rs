//! The render types each object straight from its compiled template (`src/render/template/fill.rs`)
//! instead of writing the template's JSON text and parsing it back. These tests hold it to what
//! serde_json does: for every object of every shipped values file and `ok-` input, typing from
//! the template gives the object that typing the filled-in JSON document gives; and on plain JSON
//! values the deserializer types and refuses exactly as serde_json's own `&Value` deserializer.

use std::path::Path;

use serde_json::{Value as Json, json};

use cnpgtp::manifest::{Kind, Object};
use cnpgtp::plan::{Common, Lent, Metadata};
use cnpgtp::render::template::{self, Filled, Node};
use cnpgtp::values::{self, Source};

/// The values of every shipped values file and `ok-` input (and the defaults alone).
fn every_values() -> Vec<(String, values::Values)> {
    let mut files: Vec<_> = ["values", "tests/inputs"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(dir)
                .expect("readable")
                .map(|e| e.unwrap().path())
        })
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".yaml")
                && name != "defaults.yaml"
                && (path.starts_with("values") || name.starts_with("ok-"))
        })
        .collect();
    files.sort();
    let mut all = vec![(
        "defaults".to_string(),
        values::load(&[], &[]).expect("defaults load").values,
    )];
    for path in files {
        let source = Source::read(Path::new(&path)).expect("readable");
        let name = source.name.clone();
        let loaded = values::load(&[source], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        all.push((name, loaded.values));
    }
    all
}

#[test]
fn every_object_types_from_its_template_as_from_its_json_text() {
    let mut objects = 0;
    for (file, values) in every_values() {
        let common = Common::new(&values);
        for planned in cnpgtp::resources::plan(&common) {
            let root = template::find(planned.template).expect("compiled");
            let context = planned.context.as_object().expect("a map");
            let metadata = common.lend(&planned.metadata);
            let at = format!("{file}: {}", planned.template);
            let direct = Object::deserialize(planned.kind, Filled::new(root, context, &metadata))
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            // The text the template would write, parsed as serde_json parses text.
            let document = template::to_json(root, context, &metadata).expect("fills");
            // The lent metadata is what the labels of the database, its component and the
            // object's own labels give when inserted in turn.
            let mut labels = common.labels(planned.metadata.component);
            labels.extend(planned.metadata.labels.clone());
            let mut expected = json!({
                "name": planned.metadata.name,
                "namespace": planned.metadata.namespace.as_deref().unwrap_or(common.namespace()),
                "labels": labels,
            });
            if !planned.metadata.annotations.is_empty() {
                expected["annotations"] = json!(planned.metadata.annotations);
            }
            assert_eq!(document["metadata"], expected, "{at}");
            assert_eq!(metadata.to_json(), expected, "{at}");
            let text = serde_json::to_string(&document).expect("serializes");
            let from_text =
                Object::parse(planned.kind, &text).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(direct, from_text, "{at}");
            objects += 1;
        }
    }
    assert!(objects > 200, "{objects} objects compared");
}

/// Both deserializers' results on one JSON document typed as `kind`, as text.
fn both(kind: Kind, document: &Json) -> (String, String) {
    let show = |result: Result<Object, String>| match result {
        Ok(object) => format!("ok: {}", serde_json::to_string(&object).unwrap()),
        Err(e) => format!("error: {e}"),
    };
    (
        show(Object::deserialize(kind, Filled::json(document))),
        show(Object::deserialize(kind, document)),
    )
}

#[test]
fn json_values_type_and_fail_as_with_serde_json() {
    let base = json!({
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "a", "namespace": "n", "labels": {"x": "y"}},
        "spec": {"instances": 3, "storage": {"size": "1Gi"},
                 "affinity": {"podAntiAffinityType": "preferred", "tolerations": [{"key": "k", "operator": "Exists"}]}}
    });
    let mut cases = vec![base.clone()];
    let mut edit = |pointer: &str, value: Json| {
        let mut document = base.clone();
        *document.pointer_mut(pointer).expect(pointer) = value;
        cases.push(document);
    };
    edit("/spec/instances", json!("three"));
    edit("/spec/instances", json!(-1));
    edit("/spec/instances", json!(1.5));
    edit("/spec/instances", json!(null));
    edit("/spec/storage", json!({"size": "1Gi", "sise": 1}));
    edit("/spec/storage", json!([1, 2]));
    edit("/spec/affinity/tolerations", json!({"key": "k"}));
    edit(
        "/spec/affinity/tolerations/0/operator",
        json!({"a": 1, "b": 2}),
    );
    edit("/spec/affinity/podAntiAffinityType", json!(["preferred"]));
    edit("/metadata/labels", json!({"x": 5}));
    edit("/metadata", json!("a"));
    edit("/kind", json!("Pooler"));
    for document in &cases {
        let (ours, serde_json) = both(Kind::Cluster, document);
        assert_eq!(ours, serde_json, "{document}");
    }
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c",
            "ports": [{"containerPort": 3000}], "livenessProbe": {"httpGet": {"port": "http"}},
            "resources": {"limits": {"memory": "1Gi", "cpu": "500m"}}}]}}}});
    let (ours, serde_json) = both(Kind::Deployment, &deployment);
    assert!(ours.starts_with("ok: "), "{ours}");
    assert_eq!(ours, serde_json);
}

/// An enum of every variant shape (the typed objects have none today; a field that becomes one
/// must still refuse as serde_json does).
#[derive(Debug, PartialEq, serde::Deserialize)]
enum Shape {
    Unit,
    Newtype(u8),
    Tuple(u8, u8),
    Struct { a: u8 },
}

#[test]
fn enums_deserialize_and_fail_as_with_serde_json() {
    use serde::Deserialize as _;
    let mut refused = 0;
    for value in [
        json!("Unit"),
        json!({"Unit": null}),
        json!({"Newtype": 1}),
        json!({"Tuple": [1, 2]}),
        json!({"Struct": {"a": 1}}),
        // Unknown fields are ignored by a derive without deny_unknown_fields, in both.
        json!({"Struct": {"a": 1, "b": 2}}),
        json!("Newtype"),
        json!("Other"),
        json!({"Unit": null, "Newtype": 1}),
        json!({}),
        json!([1]),
        json!(5),
        json!(-5),
        json!(0.5),
        json!(true),
        json!(null),
        json!({"Tuple": [1]}),
    ] {
        let ours = Shape::deserialize(Filled::json(&value)).map_err(|e| e.to_string());
        let serde_json = Shape::deserialize(&value).map_err(|e| e.to_string());
        assert_eq!(ours, serde_json, "{value}");
        refused += usize::from(ours.is_err());
    }
    assert_eq!(refused, 11, "the cases after the first six are refused");
}

/// A template that is its object's metadata and nothing else.
static METADATA_ONLY: Node = Node::Value("metadata");

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
enum OneOf {
    Text(String),
    Map(std::collections::BTreeMap<String, String>),
    /// The name as a unit variant.
    #[serde(rename = "pg-rw")]
    PgRw,
}

#[test]
fn lent_metadata_types_and_fails_as_its_json() {
    use std::collections::BTreeMap;
    let pairs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    let base = pairs(&[("app.kubernetes.io/name", "postgresql"), ("team", "data")]);
    let mut compared = 0;
    for annotations in [&[][..], &[("a", "Text")], &[("a", "1"), ("b", "2")]] {
        for own in [&[][..], &[("team", "core")]] {
            let metadata = Metadata {
                name: "pg-rw".into(),
                namespace: Some("teleport".into()),
                component: "pooler",
                labels: pairs(own),
                annotations: pairs(annotations),
            };
            let lent = Lent {
                metadata: &metadata,
                base_labels: &base,
                namespace: "db",
            };
            let json = lent.to_json();
            let context = serde_json::Map::new();
            macro_rules! same {
                ($($t:ty),*) => {$(
                    let direct = <$t as serde::Deserialize>::deserialize(
                        Filled::new(&METADATA_ONLY, &context, &lent),
                    )
                    .map(|v| format!("{v:?}"))
                    .map_err(|e| e.to_string());
                    let via_json = <$t as serde::Deserialize>::deserialize(&json)
                        .map(|v| format!("{v:?}"))
                        .map_err(|e| e.to_string());
                    assert_eq!(direct, via_json, "{}: {json}", stringify!($t));
                    compared += 1;
                )*};
            }
            same!(
                Json,
                k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                String,
                Vec<Json>,
                OneOf,
                BTreeMap<String, OneOf>,
                BTreeMap<String, Json>,
                Option<BTreeMap<String, Option<BTreeMap<String, OneOf>>>>,
                BTreeMap<String, (String,)>
            );
        }
    }
    assert_eq!(compared, 54);
}
