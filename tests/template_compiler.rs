//! What build.rs's template compiler (`build/templates.rs`) accepts and refuses. It lowers
//! minijinja's syntax tree to the segment tables `src/render/template.rs` walks; a construct the
//! renderer cannot fill in must fail the build, naming the template and the line, rather than
//! render something else.

#[path = "../build/templates.rs"]
mod template;

fn compile(source: &str) -> Result<String, String> {
    template::compile("templates/t.json", source)
}

#[test]
fn text_values_and_presence_tests_are_compiled() {
    let compiled = compile(
        "{\"a\": {{ a }}\n  {%- if b is not none %}, \"b\": {{ b }}{% else %}, \"c\": 1{% endif %}\n  \
         {%- if d %}, \"d\": {{ d }}{%- endif %}}\n",
    )
    .expect("supported");
    assert_eq!(
        compiled,
        r#"&[Segment::Text("{\"a\": "), Segment::Value("a"), Segment::IfPresent("b", &[Segment::Text(", \"b\": "), Segment::Value("b"), ], &[Segment::Text(", \"c\": 1"), ]), Segment::IfPresent("d", &[Segment::Text(", \"d\": "), Segment::Value("d"), ], &[]), Segment::Text("}"), ]"#,
        "whitespace control trims the text before `{{%-`, and the trailing newline is dropped as \
         minijinja does"
    );
}

#[test]
fn every_other_construct_fails_with_the_file_and_line() {
    for (source, line) in [
        ("{{ a|tojson }}", 1),
        ("{\n{{ a.b }}", 2),
        ("{% for x in xs %}{{ x }}{% endfor %}", 1),
        ("\n\n{% if a == b %}1{% endif %}", 3),
        ("{\n\n\n{% for x in xs %}{% endfor %}", 4),
        ("{% if a is none %}1{% endif %}", 1),
        ("{% if not a %}1{% endif %}", 1),
        ("{% set a = 1 %}", 1),
        ("{{ 1 }}", 1),
    ] {
        let error = compile(source).expect_err(source);
        let at = format!("templates/t.json:{line}: the renderer supports only ");
        assert!(error.starts_with(&at), "{source}: {error}");
    }
}

#[test]
fn a_syntax_error_names_the_template() {
    let error = compile("{{ a ").expect_err("unclosed");
    assert!(error.starts_with("templates/t.json: "), "{error}");
}
