//! Where an accepted form may send the browser, and which pages may read the
//! answer (issue 11): only the allowlist, whatever the encoding tricks; CORS
//! only for the configured origins, compared exactly.

mod common;

use common::{handler, header, post_form, request};
use proptest::prelude::*;
use serde_json::json;

const THANKS: &str = "https://www.example.com/thanks";

/// Where the handler (allowlist `https://www.example.com/`) sends a form
/// whose `redirect` field is `field`.
fn location_for(field: &str) -> String {
    let form =
        serde_urlencoded::to_string([("email", "r@example.com"), ("redirect", field)]).unwrap();
    let r = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(handler().handle(post_form(&form)));
    assert_eq!(r.status_code, 303, "{field:?}");
    header(&r, "location").unwrap_or_else(|| panic!("303 without a Location for {field:?}"))
}

#[test]
fn a_redirect_goes_to_the_allowlist_whatever_the_encoding_tricks() {
    for (field, expected) in [
        ("https://www.example.com/ok", "https://www.example.com/ok"),
        (
            " https://www.example.com/ok\t",
            "https://www.example.com/ok",
        ),
        // Answered as parsed: a header carries ASCII only.
        (
            "https://www.example.com/café",
            "https://www.example.com/caf%C3%A9",
        ),
        (
            "https://www.example.com/a b",
            "https://www.example.com/a%20b",
        ),
        ("HTTPS://WWW.EXAMPLE.COM/X", "https://www.example.com/X"),
        ("https://www.example.com:443/x", "https://www.example.com/x"),
        ("https:/www.example.com/x", "https://www.example.com/x"),
        ("https://www%2Eexample%2Ecom/x", "https://www.example.com/x"),
        // Full-width letters are the same host to a browser (IDNA mapping).
        ("https://ｗｗｗ.example.com/x", "https://www.example.com/x"),
        // A backslash is a slash in an http(s) URL: the host stays ours.
        (
            "https://www.example.com\\@evil.example.net",
            "https://www.example.com/@evil.example.net",
        ),
        (
            "https://www.example.com/../../x",
            "https://www.example.com/x",
        ),
        // Elsewhere, however it is written: the thank-you page.
        ("https://evil.example.net/", THANKS),
        ("//evil.example.net/", THANKS),
        ("///evil.example.net/", THANKS),
        ("\\\\evil.example.net/", THANKS),
        ("https:evil.example.net", THANKS),
        ("https:\\\\evil.example.net", THANKS),
        ("https://evil.example.net\\www.example.com/", THANKS),
        ("https://www.example.com@evil.example.net/", THANKS),
        ("https://www.example.com%2F@evil.example.net/", THANKS),
        ("https://www.example.com%40evil.example.net/", THANKS),
        ("https://evil.example.net@www.example.com/", THANKS),
        ("https://user:pw@www.example.com/", THANKS),
        ("https://www.example.com.evil.example.net/", THANKS),
        ("https://www.example.com%2Eevil.example.net/", THANKS),
        ("https://www.example.com%252Fevil/", THANKS),
        ("https%3A%2F%2Fevil.example.net%2F", THANKS),
        ("https%253A%252F%252Fevil.example.net", THANKS),
        ("https://www.exаmple.com/", THANKS), // a Cyrillic "а"
        ("https://www.example.com。evil.example.net/", THANKS), // an ideographic full stop
        ("http://www.example.com/", THANKS),
        ("https://www.example.com:8443/", THANKS),
        ("https://www.example.com./", THANKS),
        ("https://[::1]/", THANKS),
        ("https://0x7f.1/", THANKS),
        ("/relative/page", THANKS),
        ("javascript:alert(1)", THANKS),
        ("JaVaScRiPt:alert(1)//https://www.example.com/", THANKS),
        (" javascript:alert(1)", THANKS),
        ("java\tscript:alert(1)", THANKS),
        ("data:text/html,<script>alert(1)</script>", THANKS),
        ("https://www.ex\tample.com/", THANKS),
        ("https://www.example.com/x\r\nSet-Cookie: a=b", THANKS),
        ("https://www.example.com/\u{0}", THANKS),
        ("", THANKS),
    ] {
        assert_eq!(location_for(field), expected, "{field:?}");
    }
}

/// Any mutation of an allowed address, and any string at all: the browser is
/// sent to our host, over https, without credentials, in ASCII.
fn near_miss() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("https://www.example.com/".to_string()),
        Just("evil.example.net".to_string()),
        prop::sample::select(
            &[
                "@",
                "\\",
                "/",
                "//",
                ":",
                "%",
                "%2F",
                "%40",
                "%2E",
                "%252F",
                ".",
                "。",
                "#",
                "?",
                "\t",
                " ",
                "\u{0}",
                "\u{202e}",
                "ｗ",
                "а",
                "javascript:",
                "https:",
                "HTTPS://",
                ":443",
                ":80",
                "[::1]",
                "xn--",
                "..",
            ][..]
        )
        .prop_map(str::to_string),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn no_redirect_leaves_the_allowed_host(field in near_miss()) {
        let to = location_for(&field);
        let url = url::Url::parse(&to).map_err(|e| TestCaseError::fail(format!("{to}: {e}")))?;
        prop_assert!(to.is_ascii());
        prop_assert_eq!(url.scheme(), "https");
        prop_assert_eq!(url.host_str(), Some("www.example.com"));
        prop_assert_eq!(url.port(), None);
        prop_assert!(url.username().is_empty() && url.password().is_none());
    }

    #[test]
    fn only_the_configured_origin_exactly_may_read_the_answer(
        origin in prop_oneof![
            Just("https://www.example.com".to_string()),
            "https?://[a-zA-Z.]{0,20}(:[0-9]{1,4})?/?",
            any::<String>(),
        ],
        preflight in any::<bool>(),
    ) {
        let Ok(value) = aws_lambda_events::http::HeaderValue::from_str(&origin) else {
            return Ok(()); // not a header API Gateway could deliver
        };
        let mut req = if preflight {
            request("OPTIONS", json!({}), None, false)
        } else {
            request("POST", json!({"content-type": "application/json"}), Some(r#"{"email":"o@example.com"}"#), false)
        };
        req.headers.insert("origin", value);
        let r = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(handler().handle(req));
        let allowed = origin == "https://www.example.com";
        let acao = header(&r, "access-control-allow-origin");
        prop_assert_eq!(acao.as_deref(), allowed.then_some("https://www.example.com"));
        if preflight {
            prop_assert_eq!(r.status_code, if allowed { 204 } else { 403 });
        }
        prop_assert_eq!(header(&r, "vary"), Some("Origin".to_string()));
    }
}

#[test]
fn cors_refuses_null_suffix_case_port_and_slash_tricks() {
    for origin in [
        "null",
        "*",
        "https://www.example.com/",
        "https://www.example.com.evil.example.net",
        "https://evil-www.example.com",
        "https://wwwexample.com",
        "HTTPS://WWW.EXAMPLE.COM",
        "https://WWW.example.com",
        "https://www.example.com:443",
        "http://www.example.com",
        "https://www.example.co",
        "https://www.example.com https://evil.example.net",
        "https://www.example.com, https://evil.example.net",
        "https://evil.example.net#https://www.example.com",
        "",
    ] {
        for method in ["OPTIONS", "POST"] {
            let r = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(handler().handle(request(
                    method,
                    json!({"origin": origin, "content-type": "application/json"}),
                    Some(r#"{"email":"o@example.com"}"#),
                    false,
                )));
            assert_eq!(
                header(&r, "access-control-allow-origin"),
                None,
                "{method} {origin:?}"
            );
            if method == "OPTIONS" {
                assert_eq!(r.status_code, 403, "{origin:?}");
            }
        }
    }
}
