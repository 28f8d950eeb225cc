//! cnpgtp renders every Kubernetes manifest a production PostgreSQL cluster on CloudNativePG
//! needs when people reach it through Teleport over mutual TLS.
//!
//! One direction of flow:
//!
//! ```text
//! values files --values::load--> Values --resources::plan--> Planned (one per object)
//!     --render: one compiled template each, deserialized with its context--> typed object
//!     --output--> stream | directory
//! ```
//!
//! Layers; each imports only from the layers below it (`tests/layers.rs` enforces this):
//!
//! ```text
//! cli                      commands, flags, exit codes, ArgoCD plugin inputs
//! output  diff  lint       what is done with rendered objects
//! render                   templates -> typed objects
//! resources                one module per integration; `resources::plan` decides what exists
//! plan                     Planned objects and the Common context every integration reads
//! values                   raw layers -> validated model; domain checks per concern
//! naming  manifest  crds   derived names; object kinds and their typed CRDs
//! yaml                     YAML reading with origins, and the emitter
//! ```
//!
//! Whether an object exists is decided in Rust (`resources`); templates show each object's shape
//! and are filled in with values. The library API is not stable; the command line is.

pub mod cli;
pub mod crds;
pub mod diff;
pub mod lint;
pub mod manifest;
pub mod naming;
pub mod output;
pub mod plan;
pub mod render;
pub mod resources;
pub mod values;
pub mod yaml;
