//! How fast can a rendered document be type-checked? Compares, on the documents of the default
//! render, the path of patched objects (JSON text straight into the typed object, `Object::parse`;
//! a render without patches deserializes from the compiled template instead) with the
//! YAML readers it replaced, to back the choice of JSON templates in `BENCHMARKS.md`. Run with
//! `cargo bench --bench typecheck`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use cnpgtp::crds::cert_manager::{Certificate, Issuer};
use cnpgtp::crds::cnpg::{Cluster, Pooler};
use cnpgtp::crds::external_secrets::{ExternalSecret, SecretStore};
use cnpgtp::crds::teleport::TeleportDatabaseV3;
use cnpgtp::manifest::{Kind, Object};
use cnpgtp::render::Renderer;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

/// Deserializes a JSON value into the typed object of `kind` (the type check without YAML).
/// Covers the kinds of the default render, which is what this benchmark feeds it.
fn typed_from_json(kind: Kind, json: Json) -> serde_json::Result<usize> {
    fn go<T: DeserializeOwned>(json: Json) -> serde_json::Result<usize> {
        serde_json::from_value::<T>(json).map(|t| std::mem::size_of_val(&t))
    }
    match kind {
        Kind::ServiceAccount => go::<ServiceAccount>(json),
        Kind::Secret => go::<Secret>(json),
        Kind::Role => go::<Role>(json),
        Kind::RoleBinding => go::<RoleBinding>(json),
        Kind::Issuer => go::<Issuer>(json),
        Kind::Certificate => go::<Certificate>(json),
        Kind::SecretStore => go::<SecretStore>(json),
        Kind::ExternalSecret => go::<ExternalSecret>(json),
        Kind::ConfigMap => go::<ConfigMap>(json),
        Kind::Cluster => go::<Cluster>(json),
        Kind::Pooler => go::<Pooler>(json),
        Kind::TeleportDatabaseV3 => go::<TeleportDatabaseV3>(json),
        other => panic!("typecheck bench: add a typed path for {other:?}"),
    }
}

fn typecheck(c: &mut Criterion) {
    let values = cnpgtp::values::load(&[], &[])
        .expect("defaults are valid")
        .values;
    let manifests = Renderer::new().render(&values).expect("renders");
    // (kind, YAML text as cnpgtp writes it, the same object as JSON text)
    let docs: Vec<(Kind, String, String)> = manifests
        .iter()
        .map(|m| {
            (
                m.kind,
                cnpgtp::yaml::object_to_string(&m.object).expect("serializes"),
                serde_json::to_string(&m.object).expect("serializes"),
            )
        })
        .collect();
    let source: Arc<str> = Arc::from("bench");

    let mut group = c.benchmark_group("typecheck");
    group.bench_function("json_typed", |b| {
        b.iter(|| {
            for (kind, _, json) in &docs {
                black_box(Object::parse(*kind, black_box(json)).expect("parses"));
            }
        });
    });
    group.bench_function("saphyr_value_then_typed", |b| {
        b.iter(|| {
            for (kind, yaml, _) in &docs {
                let json: Json = serde_saphyr::from_str(black_box(yaml)).expect("parses");
                black_box(typed_from_json(*kind, json).expect("typed"));
            }
        });
    });
    group.bench_function("tree_then_typed", |b| {
        b.iter(|| {
            for (kind, yaml, _) in &docs {
                let tree = cnpgtp::yaml::parse_values(&source, black_box(yaml)).expect("parses");
                black_box(typed_from_json(*kind, tree.to_json()).expect("typed"));
            }
        });
    });
    group.bench_function("json_text_typed", |b| {
        b.iter(|| {
            for (kind, _, json) in &docs {
                let value: Json = serde_json::from_str(black_box(json)).expect("parses");
                black_box(typed_from_json(*kind, value).expect("typed"));
            }
        });
    });
    group.bench_function("serialize_json", |b| {
        b.iter(|| {
            for m in &manifests {
                black_box(serde_json::to_string(black_box(&m.object)).expect("serializes"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, typecheck);
criterion_main!(benches);
