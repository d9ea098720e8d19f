//! A small logic-less template language for emails (a subset of Mustache):
//! `{{name}}` and `{{a.b}}` insert a value, escaped for HTML in HTML templates;
//! `{{#list}}…{{/list}}` repeats for each item (or shows once for a true value);
//! `{{^x}}…{{/x}}` shows when `x` is missing, false or empty; `{{.}}` is the item itself.
//! There is no way to insert unescaped text into HTML: every value is escaped.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Html,
    /// Plain text: values are inserted as they are, less control characters.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
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

#[derive(Debug)]
enum Node {
    Text(String),
    Var(String),
    Section {
        name: String,
        inverted: bool,
        body: Vec<Node>,
    },
}

fn parse(name: &str, src: &str) -> Result<Vec<Node>, TemplateError> {
    let err = |m: String| TemplateError {
        template: name.to_string(),
        message: m,
    };
    let mut stack: Vec<(String, bool, Vec<Node>)> = vec![(String::new(), false, Vec::new())];
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let (text, after) = rest.split_at(start);
        if !text.is_empty() {
            if let Some(s) = stack.last_mut() {
                s.2.push(Node::Text(text.to_string()));
            }
        }
        let end = after
            .find("}}")
            .ok_or_else(|| err("a {{ is never closed".into()))?;
        let tag = after[2..end].trim();
        rest = &after[end + 2..];
        if let Some(n) = tag.strip_prefix('#') {
            stack.push((n.trim().to_string(), false, Vec::new()));
        } else if let Some(n) = tag.strip_prefix('^') {
            stack.push((n.trim().to_string(), true, Vec::new()));
        } else if let Some(n) = tag.strip_prefix('/') {
            let (open, inverted, body) = stack
                .pop()
                .filter(|_| !stack.is_empty())
                .ok_or_else(|| err(format!("{{{{/{n}}}}} closes nothing")))?;
            if open != n.trim() {
                return Err(err(format!("{{{{/{n}}}}} closes {{{{#{open}}}}}")));
            }
            if let Some(parent) = stack.last_mut() {
                parent.2.push(Node::Section {
                    name: open,
                    inverted,
                    body,
                });
            }
        } else if tag.starts_with('{')
            || tag.starts_with('&')
            || tag.starts_with('!')
            || tag.starts_with('>')
        {
            return Err(err(format!(
                "{{{{{tag}}}}}: only plain, # and ^ tags are supported"
            )));
        } else if tag.is_empty() {
            return Err(err("empty {{}} tag".into()));
        } else {
            if let Some(s) = stack.last_mut() {
                s.2.push(Node::Var(tag.to_string()));
            }
        }
    }
    if !rest.is_empty() {
        if let Some(s) = stack.last_mut() {
            s.2.push(Node::Text(rest.to_string()));
        }
    }
    if stack.len() != 1 {
        let open = stack.last().map(|s| s.0.clone()).unwrap_or_default();
        return Err(err(format!("{{{{#{open}}}}} is never closed")));
    }
    Ok(stack.pop().map(|s| s.2).unwrap_or_default())
}

fn lookup<'a>(scopes: &[&'a Value], path: &str) -> Option<&'a Value> {
    if path == "." {
        return scopes.last().copied();
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut v = scopes.iter().rev().find_map(|s| s.get(first))?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => true,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn walk(nodes: &[Node], scopes: &mut Vec<&Value>, esc: Escape, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Var(name) => {
                let s = lookup(scopes, name).map(scalar).unwrap_or_default();
                match esc {
                    Escape::Html => out.push_str(&escape_html(&s)),
                    Escape::Text => out.extend(
                        s.chars()
                            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t'),
                    ),
                }
            }
            Node::Section {
                name,
                inverted,
                body,
            } => {
                let v = lookup(scopes, name);
                if *inverted {
                    if !truthy(v) {
                        walk(body, scopes, esc, out);
                    }
                } else if let Some(Value::Array(items)) = v {
                    for item in items {
                        scopes.push(item);
                        walk(body, scopes, esc, out);
                        scopes.pop();
                    }
                } else if truthy(v) {
                    if let Some(v @ Value::Object(_)) = v {
                        scopes.push(v);
                        walk(body, scopes, esc, out);
                        scopes.pop();
                    } else {
                        walk(body, scopes, esc, out);
                    }
                }
            }
        }
    }
}

/// Render `src` with `data`. Fails only on a malformed template, never on data.
pub fn render(name: &str, src: &str, data: &Value, esc: Escape) -> Result<String, TemplateError> {
    let nodes = parse(name, src)?;
    let mut out = String::with_capacity(src.len() + 256);
    walk(&nodes, &mut vec![data], esc, &mut out);
    Ok(out)
}

/// Check a template parses, for build-time tests of the shipped templates.
pub fn check(name: &str, src: &str) -> Result<(), TemplateError> {
    parse(name, src).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_every_value_in_html() {
        let out = render(
            "t",
            "<p>Hi {{name}}</p>",
            &json!({"name": "<script>alert('x')</script> & \"co\""}),
            Escape::Html,
        )
        .unwrap();
        assert_eq!(
            out,
            "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</p>"
        );
    }

    #[test]
    fn text_keeps_values_but_drops_control_characters() {
        let out = render(
            "t",
            "Hi {{name}}",
            &json!({"name": "A<b>\u{7}"}),
            Escape::Text,
        )
        .unwrap();
        assert_eq!(out, "Hi A<b>");
    }

    #[test]
    fn sections_repeat_nest_and_invert() {
        let data = json!({
            "rep": {"name": "Ana"},
            "items": [{"k": "budget", "v": "defined"}, {"k": "need", "v": "identified"}],
            "tags": ["a", "b"],
            "none": [],
            "yes": true
        });
        let out = render(
            "t",
            "{{rep.name}}|{{#items}}{{k}}={{v}};{{/items}}|{{#tags}}{{.}}{{/tags}}|{{^none}}empty{{/none}}|{{#yes}}Y{{/yes}}{{#missing}}M{{/missing}}",
            &data,
            Escape::Text,
        )
        .unwrap();
        assert_eq!(out, "Ana|budget=defined;need=identified;|ab|empty|Y");
    }

    #[test]
    fn malformed_templates_are_errors() {
        for bad in [
            "{{#a}}x",
            "{{/a}}",
            "{{#a}}{{/b}}",
            "{{x",
            "{{{raw}}}",
            "{{}}",
        ] {
            assert!(check("bad", bad).is_err(), "{bad} should not parse");
        }
    }
}
