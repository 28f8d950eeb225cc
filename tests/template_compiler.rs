//! What build.rs's template compiler (`build/templates.rs`) accepts and refuses. It lowers
//! minijinja's syntax tree, read as one JSON document, to the static tree `src/render/template.rs`
//! deserializes objects from; a construct the renderer cannot fill in, or a template that is not
//! valid JSON for every choice of its conditions, must fail the build, naming the template and
//! the line, rather than render something else.

#[path = "../build/templates.rs"]
mod template;

fn compile(source: &str) -> Result<String, String> {
    template::compile("templates/t.json", source)
}

#[test]
fn values_literals_and_conditional_entries_are_compiled() {
    let compiled = compile(
        "{\"a\": {{ a }},\n  \"n\": [1, -2, 0.5, true, null, \"x\\\"\\u00e9\\ud83d\\ude00\"]\n  \
         {%- if b is not none %}, \"b\": {{ b }}{% else %}, \"c\": {}{% endif %}\n  \
         {%- if d %}, \"d\": [{%- if e %}{{ e }},{% endif %} 3]{%- endif %}}\n",
    )
    .expect("supported");
    assert_eq!(
        compiled,
        r#"Node::Map(&[Entry::Field("a", Node::Value("a")), Entry::Field("n", Node::Seq(&[Item::Element(Node::U64(1)), Item::Element(Node::I64(-2)), Item::Element(Node::F64(0.5)), Item::Element(Node::Bool(true)), Item::Element(Node::Null), Item::Element(Node::Str("x\"é😀")), ])), Entry::IfPresent("b", &[Entry::Field("b", Node::Value("b")), ], &[Entry::Field("c", Node::Map(&[])), ]), Entry::IfPresent("d", &[Entry::Field("d", Node::Seq(&[Item::IfPresent("e", &[Item::Element(Node::Value("e")), ], &[]), Item::Element(Node::U64(3)), ])), ], &[]), ])"#,
    );
}

#[test]
fn whitespace_control_and_comments_are_minijinja_s() {
    // `{%-` trims the whitespace before it; a comment is dropped: both by minijinja's lexer.
    let compiled = compile("{#- a comment -#}\n{\"a\": 1\n   {%- if b %},\"b\": 2{%- endif %}}\n")
        .expect("supported");
    assert_eq!(
        compiled,
        r#"Node::Map(&[Entry::Field("a", Node::U64(1)), Entry::IfPresent("b", &[Entry::Field("b", Node::U64(2)), ], &[]), ])"#
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
fn a_template_that_is_not_json_for_some_choice_of_its_conditions_fails_at_its_line() {
    for (source, line, message) in [
        // A comma too many when `b` is null, one too few when it is not.
        (
            "{\"a\": 1,\n{% if b %}\"b\": 2{% endif %}}",
            2,
            "a comma before the end",
        ),
        (
            "{\"a\": 1\n{% if b %}\"b\": 2{% endif %}}",
            2,
            "a comma is missing",
        ),
        (
            "[{% if b %}1{% endif %}, 2]",
            1,
            "a comma that does not follow a member",
        ),
        // A hole is a whole value: never a key, never part of a string, never a member list.
        ("{ {{ k }}: 1}", 1, "a map key must be a string literal"),
        ("{\"a\": \"x{{ a }}\"}", 1, "a string that does not end"),
        ("{\"a\": \"\\q\"}", 1, "an escape JSON does not have"),
        ("{\"a\": {% if b %}1{% endif %}}", 1, "not a value"),
        ("{\"a\": 1}\n{}", 2, "text after the JSON document"),
        ("{\"a\":\n[1,\n2", 2, "not closed"),
        ("{\"a\": tru}", 1, "is not JSON"),
        ("{\"a\": 01}", 1, "is not JSON"),
        (
            "[{% if a %}{% if b %}{% if c %}{% if d %}1{% endif %}{% endif %}{% endif %}{% endif %}]",
            1,
            "nest too deep",
        ),
    ] {
        let error = compile(source).expect_err(source);
        assert!(
            error.starts_with(&format!("templates/t.json:{line}: ")) && error.contains(message),
            "{source}: {error}"
        );
    }
}

#[test]
fn a_syntax_error_names_the_template() {
    let error = compile("{{ a ").expect_err("unclosed");
    assert!(error.starts_with("templates/t.json: "), "{error}");
}
