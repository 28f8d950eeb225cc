//! In-process benchmarks of the render pipeline (issue 7). Whole-process timings and peak memory
//! are measured by `scripts/bench.sh`; results and method are in `BENCHMARKS.md`.
//!
//! Groups:
//! - `stage/*`: one database, one stage at a time (values, render + type-check, YAML output),
//!   for the embedded defaults and for `values/production.yaml`;
//! - `pipeline/*`: one database, values text -> YAML stream, with a renderer built once;
//! - `renderer_new`: compiling the templates (done once per process);
//! - `fleet/1-thread/N`: N databases with distinct names rendered in one process, as
//!   `cnpgtp render a.yaml b.yaml ...` does (values, render, YAML for each);
//!   `fleet/2-threads/1000`: the same split over two threads sharing one renderer.
//!
//! Run with `cargo bench --bench render` (add a filter such as `-- fleet` to run one group).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use cnpgtp::output::yaml_stream;
use cnpgtp::render::Renderer;
use cnpgtp::values::{self, Source, Values};

const PRODUCTION: &str = include_str!("../values/production.yaml");

/// The inputs of the single-database benchmarks: (label, values sources layered on the defaults).
fn cases() -> Vec<(&'static str, Vec<Source>)> {
    vec![
        ("defaults", Vec::new()),
        (
            "production",
            vec![Source {
                name: "values/production.yaml".into(),
                text: PRODUCTION.into(),
            }],
        ),
    ]
}

fn load(sources: &[Source]) -> Values {
    values::load(sources, &[])
        .expect("benchmark values are valid")
        .values
}

/// One database's values file of a generated fleet: a distinct cluster name per database.
fn fleet_source(index: usize) -> Source {
    Source {
        name: format!("fleet/db-{index:04}/values.yaml"),
        text: format!("name: db-{index:04}\nnamespace: team-{}\n", index % 10),
    }
}

/// What `cnpgtp render FILE...` does per database, minus reading files and writing stdout.
fn render_one(renderer: &Renderer, sources: &[Source], out: &mut String) {
    let values = load(sources);
    let manifests = renderer.render(&values).expect("renders");
    out.push_str(&yaml_stream(&manifests).expect("serializes"));
}

fn stages(c: &mut Criterion) {
    let renderer = Renderer::new();
    let mut group = c.benchmark_group("stage");
    for (label, sources) in cases() {
        let values = load(&sources);
        let manifests = renderer.render(&values).expect("renders");
        group.bench_with_input(BenchmarkId::new("values", label), &sources, |b, s| {
            b.iter(|| load(black_box(s)));
        });
        group.bench_with_input(BenchmarkId::new("render", label), &values, |b, v| {
            b.iter(|| renderer.render(black_box(v)).expect("renders"));
        });
        group.bench_with_input(BenchmarkId::new("yaml", label), &manifests, |b, m| {
            b.iter(|| yaml_stream(black_box(m)).expect("serializes"));
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let renderer = Renderer::new();
    let mut group = c.benchmark_group("pipeline");
    for (label, sources) in cases() {
        group.bench_with_input(BenchmarkId::from_parameter(label), &sources, |b, s| {
            b.iter(|| {
                let mut out = String::new();
                render_one(&renderer, black_box(s), &mut out);
                out
            });
        });
    }
    group.finish();
    c.bench_function("renderer_new", |b| b.iter(Renderer::new));
}

/// Renders a fleet as one `cnpgtp render` process does: one renderer, every database in order.
/// With `threads > 1` the databases are split into that many contiguous parts rendered in
/// parallel, sharing the renderer, and joined in order (a possible change to the CLI).
fn render_fleet(sources: &[Source], threads: usize) -> String {
    let renderer = Renderer::new();
    let render_part = |part: &[Source]| {
        let mut out = String::new();
        for source in part {
            render_one(&renderer, std::slice::from_ref(source), &mut out);
        }
        out
    };
    if threads <= 1 {
        return render_part(sources);
    }
    let size = sources.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = sources
            .chunks(size)
            .map(|part| scope.spawn(|| render_part(part)))
            .collect();
        parts
            .into_iter()
            .map(|part| part.join().expect("a render thread panicked"))
            .collect()
    })
}

fn fleet(c: &mut Criterion) {
    let mut group = c.benchmark_group("fleet");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for size in [10_usize, 100, 1000] {
        let sources: Vec<Source> = (0..size).map(fleet_source).collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("1-thread", size), &sources, |b, s| {
            b.iter(|| render_fleet(s, 1));
        });
    }
    let sources: Vec<Source> = (0..1000).map(fleet_source).collect();
    group.throughput(Throughput::Elements(1000));
    group.bench_with_input(BenchmarkId::new("2-threads", 1000), &sources, |b, s| {
        b.iter(|| render_fleet(s, 2));
    });
    group.finish();
}

criterion_group!(benches, stages, pipeline, fleet);
criterion_main!(benches);
