//! The email templates, bundled from `infra/email/` at build time.

/// (html, text) of a template by name.
pub fn template(name: &str) -> Option<(&'static str, &'static str)> {
    macro_rules! bundled {
        ($($n:literal),+) => {
            match name {
                $($n => Some((
                    include_str!(concat!("../email/", $n, ".html")),
                    include_str!(concat!("../email/", $n, ".txt")),
                )),)+
                _ => None,
            }
        };
    }
    bundled!(
        "info_kit",
        "assessment_kit",
        "demo_confirmation",
        "proposal_next_steps",
        "owner_notice"
    )
}

pub const ALL: &[&str] = &[
    "info_kit",
    "assessment_kit",
    "demo_confirmation",
    "proposal_next_steps",
    "owner_notice",
];
