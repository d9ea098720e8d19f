//! The email templates, bundled from `shared/email/` at build time, and their
//! rendering with [minijinja](https://docs.rs/minijinja) (Jinja syntax:
//! `{{ name }}`, `{% if x %}…{% else %}…{% endif %}`, `{% for r in list %}…{% endfor %}`).
//!
//! Every value is escaped for HTML in an HTML template, whatever the template
//! asks (`|safe` has no effect), and inserted as it is, less control
//! characters, in text and subjects. A missing value is empty and false.

use minijinja::{Environment, Output, State, UndefinedBehavior, Value};

macro_rules! bundled {
    ($($name:literal),+ $(,)?) => {
        /// Every bundled template, as (name, HTML, text): the one list of them.
        pub const BUNDLED: &[(&str, &str, &str)] = &[$((
            $name,
            include_str!(concat!("../email/", $name, ".html")),
            include_str!(concat!("../email/", $name, ".txt")),
        )),+];
    };
}

bundled!(
    "info_kit",
    "assessment_kit",
    "demo_confirmation",
    "proposal_next_steps",
    "owner_notice",
    "task_reminder",
    "escalation",
    "nurture_insight",
    "nurture_case_study",
    "nurture_checkin",
);

/// The lead package to an owner.
pub const OWNER_NOTICE: &str = "owner_notice";
/// To an owner: their tasks that fell due.
pub const TASK_REMINDER: &str = "task_reminder";
/// To a manager: overdue tasks and untouched leads past their SLA.
pub const ESCALATION: &str = "escalation";
/// The templates for sales, not prospects, and the nurture series' marketing
/// mail; every other bundled one is a kit a playbook may name.
pub const INTERNAL: [&str; 6] = [
    OWNER_NOTICE,
    TASK_REMINDER,
    ESCALATION,
    "nurture_insight",
    "nurture_case_study",
    "nurture_checkin",
];

/// A bundled template rendered into an email: the subject (a template too,
/// on one line), the HTML part (every value escaped) and the text part.
pub fn compose(
    name: &str,
    subject: &str,
    data: &serde_json::Value,
    to: &str,
) -> Result<crate::ports::OutgoingEmail, TemplateError> {
    let (html, text) = template(name).ok_or_else(|| TemplateError {
        template: name.to_string(),
        message: "is not bundled".into(),
    })?;
    Ok(crate::ports::OutgoingEmail {
        to: to.to_string(),
        subject: render(name, subject, data, Format::Text)?.replace(['\r', '\n'], " "),
        html: render(name, html, data, Format::Html)?,
        text: render(name, text, data, Format::Text)?,
        headers: Vec::new(),
    })
}

/// The headers every marketing email carries (RFC 2369, RFC 8058): the https
/// link (which a one-click POST unsubscribes at once) and, where the
/// playbook names a mailbox, a mailto.
pub fn list_unsubscribe(url: &str, playbook: &crate::Playbook) -> Vec<(String, String)> {
    let mut targets = vec![format!("<{url}>")];
    if let Some(mailbox) = &playbook.company.unsubscribe_email {
        targets.push(format!("<mailto:{mailbox}?subject=unsubscribe>"));
    }
    vec![
        ("List-Unsubscribe".into(), targets.join(", ")),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
    ]
}

/// (html, text) of a template by name.
pub fn template(name: &str) -> Option<(&'static str, &'static str)> {
    BUNDLED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, html, text)| (*html, *text))
}

/// The templates a playbook's kits may use.
pub fn kit_templates() -> impl Iterator<Item = &'static str> {
    BUNDLED
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| !INTERNAL.contains(n))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    /// Plain text (and subjects): values as they are, less control characters.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

fn environment(format: Format) -> Environment<'static> {
    let mut env = Environment::new();
    // Like a missing key in the data: empty when printed, false in a test, and
    // `missing.field` is missing too.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_formatter(move |out: &mut Output, _: &State, value: &Value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        let s = value.to_string();
        let s = match format {
            Format::Html => escape_html(&s),
            Format::Text => s
                .chars()
                .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                .collect(),
        };
        out.write_str(&s)
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
    });
    env
}

fn error(name: &str, e: minijinja::Error) -> TemplateError {
    TemplateError {
        template: name.to_string(),
        message: match e.line() {
            Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
            None => e.to_string(),
        },
    }
}

/// Render `source` (named `name` in errors) with `data`.
pub fn render(
    name: &str,
    source: &str,
    data: &serde_json::Value,
    format: Format,
) -> Result<String, TemplateError> {
    let env = environment(format);
    let template = env
        .template_from_named_str(name, source)
        .map_err(|e| error(name, e))?;
    template
        .render(Value::from_serialize(data))
        .map_err(|e| error(name, e))
}

/// Whether `source` parses.
pub fn check(name: &str, source: &str) -> Result<(), TemplateError> {
    environment(Format::Text)
        .template_from_named_str(name, source)
        .map(|_| ())
        .map_err(|e| error(name, e))
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` with every email address in it replaced by `<address>`: the mail
/// service names the addresses it refuses ("… failed the check in region
/// EU-CENTRAL-1: ana@example.com"), and its words reach logs and errors.
pub fn without_addresses(text: &str) -> String {
    let separator = |c: char| c.is_whitespace() || "<>()[]{},;:\"'`".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let core = word.trim_end_matches(['.', '!', '?']);
        match core.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                out.push_str("<address>");
                out.push_str(&word[core.len()..]);
            }
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if separator(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_every_value_in_html_even_when_asked_not_to() {
        let data = json!({"name": "<script>alert('x')</script> & \"co\""});
        let escaped =
            "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</p>";
        for src in ["<p>Hi {{ name }}</p>", "<p>Hi {{ name|safe }}</p>"] {
            assert_eq!(render("t", src, &data, Format::Html).unwrap(), escaped);
        }
    }

    #[test]
    fn text_keeps_values_but_drops_control_characters() {
        let out = render(
            "t",
            "Hi {{ name }}",
            &json!({"name": "A<b>\u{7}"}),
            Format::Text,
        )
        .unwrap();
        assert_eq!(out, "Hi A<b>");
    }

    #[test]
    fn conditions_loops_and_missing_values() {
        let data = json!({
            "rep": {"name": "Ana"},
            "items": [{"k": "budget", "v": "defined"}, {"k": "need", "v": "identified"}],
            "tags": ["a", "b"],
            "none": [],
            "yes": true,
            "null": null
        });
        let out = render(
            "t",
            "{{ rep.name }}|{% for i in items %}{{ i.k }}={{ i.v }};{% endfor %}|{% for t in tags %}{{ t }}{% endfor %}|{% if not none %}empty{% endif %}|{% if yes %}Y{% endif %}{% if missing %}M{% endif %}|{{ missing.deeper }}{{ null }}|",
            &data,
            Format::Text,
        )
        .unwrap();
        assert_eq!(out, "Ana|budget=defined;need=identified;|ab|empty|Y||");
    }

    #[test]
    fn malformed_templates_are_errors_naming_the_template() {
        for bad in [
            "{% if a %}x",
            "{% endif %}",
            "{% for a in b %}{% endif %}",
            "{{ x",
            "{{ }}",
        ] {
            let e = check("bad", bad).expect_err(bad);
            assert_eq!(e.template, "bad");
        }
    }

    #[test]
    fn every_bundled_template_parses_and_kits_exclude_the_owner_notice() {
        for (name, html, text) in BUNDLED {
            check(name, html).unwrap();
            check(name, text).unwrap();
        }
        assert!(kit_templates().all(|n| n != OWNER_NOTICE));
        assert!(kit_templates().all(|n| !INTERNAL.contains(&n)));
        assert_eq!(kit_templates().count(), BUNDLED.len() - INTERNAL.len());
    }

    #[test]
    fn addresses_are_taken_out_of_a_mail_services_words() {
        for (text, expected) in [
            (
                "Email address is not verified. The following identities failed the check in region EU-CENTRAL-1: leads@example.com, Ana.Ruiz@Example.DE.",
                "Email address is not verified. The following identities failed the check in region EU-CENTRAL-1: <address>, <address>.",
            ),
            ("Illegal address <bo@x.example>", "Illegal address <<address>>"),
            ("\"a b\"@x.example and @handle and x@", "\"a b\"@x.example and @handle and x@"),
            ("no address here", "no address here"),
            ("", ""),
        ] {
            assert_eq!(without_addresses(text), expected, "{text}");
        }
    }
}
