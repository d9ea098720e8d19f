//! The pages behind the one-click links in owners' emails. A GET only shows
//! what the link will do; the page's button POSTs it.

use leadflow::domain::lead::Lead;
use leadflow::links::Action;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{t}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
button{{font-size:1.1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>\
<body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

fn who(lead: &Lead) -> String {
    let company = lead
        .contact
        .company
        .as_deref()
        .map(|c| format!(" ({})", escape(c)))
        .unwrap_or_default();
    format!("{}{company}", escape(&lead.display_name()))
}

pub fn confirm(lead: &Lead, action: Action, used: bool) -> String {
    if used {
        return done(lead, action, &[], true);
    }
    page(
        "Update this lead?",
        &format!(
            "<p>Record for <strong>{}</strong>: <strong>{}</strong>.</p>\
<form method=\"post\"><button type=\"submit\" autofocus>Yes, record it</button></form>\
<p><small>Nothing changes until you press the button.</small></p>",
            who(lead),
            escape(&action.label())
        ),
    )
}

pub fn done(lead: &Lead, action: Action, reasons: &[String], before: bool) -> String {
    let list: String = reasons
        .iter()
        .map(|r| format!("<li>{}</li>", escape(r)))
        .collect();
    let what = if before {
        "This was recorded before; nothing more was changed."
    } else {
        "Recorded."
    };
    page(
        "Lead updated",
        &format!(
            "<p>{what} <strong>{}</strong>: {}.</p>{}",
            who(lead),
            escape(&action.label()),
            if list.is_empty() {
                String::new()
            } else {
                format!("<ul>{list}</ul>")
            }
        ),
    )
}

pub fn refused(message: &str) -> String {
    page(
        "This link cannot be used",
        &format!("<p>{}</p>", escape(message)),
    )
}

pub fn unsubscribe_confirm(email: &str, company: &str) -> String {
    page(
        "Unsubscribe?",
        &format!(
            "<p>Stop {} marketing emails to <strong>{}</strong>?</p>\
<form method=\"post\"><button type=\"submit\" autofocus>Unsubscribe</button></form>\
<p><small>Nothing changes until you press the button. Emails you ask for (a kit, a reply) still reach you.</small></p>",
            escape(company),
            escape(email)
        ),
    )
}

pub fn unsubscribed(company: &str) -> String {
    page(
        "You are unsubscribed",
        &format!(
            "<p>You will get no more marketing emails from {}.</p>",
            escape(company)
        ),
    )
}
