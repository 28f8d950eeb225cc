//! cnpgtp renders every Kubernetes manifest a production PostgreSQL cluster on CloudNativePG
//! needs when people reach it through Teleport over mutual TLS.
//!
//! One direction of flow:
//!
//! ```text
//! values files --values::load--> Values --render::plan--> Planned (one per object)
//!     --minijinja template--> JSON text --manifest::Object::parse--> typed object --output--> stream | dir
//! ```
//!
//! Whether an object exists is decided in Rust (`render::plan` and the integration modules
//! `certs`, `ca_bundle`, `cnpg`, `pooler`); templates only fill objects in. The library API is
//! not stable; the command line is.

pub mod argocd;
pub mod ca_bundle;
pub mod certs;
pub mod cli;
pub mod cnpg;
pub mod crd_schema;
pub mod crds;
pub mod diff;
pub mod lint;
pub mod manifest;
pub mod naming;
pub mod output;
pub mod pooler;
pub mod render;
pub mod teleport;
pub mod values;
pub mod yaml;
