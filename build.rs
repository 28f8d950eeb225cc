//! Embeds `templates/` into the binary so a render never reads template files at run time.
fn main() {
    minijinja_embed::embed_templates!("templates");
}
