//! The request body: which media type it is, its bytes (base64-decoded when
//! API Gateway encoded them, and never more than `MAX_BODY_BYTES`), and the
//! (name, value) fields of its JSON object or form.

use crate::Refusal;
use leadflow::domain::inquiry::Inquiry;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Form,
}

/// What `Content-Type` names, lower-cased and without its parameters
/// (`charset` and the like), and the format it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub format: Format,
}

impl MediaType {
    /// Refused unless it is JSON or a form.
    pub fn of(content_type: Option<&str>) -> Result<Self, Refusal> {
        let essence = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let format = match essence.as_str() {
            "application/json" => Format::Json,
            "application/x-www-form-urlencoded" => Format::Form,
            "" => return Err(Refusal::UnsupportedMediaType { media_type: None }),
            _ => {
                return Err(Refusal::UnsupportedMediaType {
                    media_type: Some(essence),
                })
            }
        };
        Ok(MediaType { essence, format })
    }
}

/// The body's bytes, through the HTTP edge the API functions share (its
/// size bounded before and after base64).
pub fn read(raw: Option<&str>, base64: bool) -> Result<Vec<u8>, Refusal> {
    use leadflow_aws::http::{body_bytes, BodyError};
    body_bytes(raw, base64, MAX_BODY_BYTES).map_err(|e| match e {
        BodyError::TooLarge(_) => Refusal::BodyTooLarge,
        BodyError::NotBase64 => Refusal::malformed("the body is not valid base64"),
    })
}

/// The (name, value) pairs of a flat JSON object or a form, in their order.
pub fn fields(format: Format, bytes: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Refusal::malformed("the body is not UTF-8"))?;
    match format {
        Format::Json => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Refusal::malformed(format!("the body is not valid JSON: {e}")))?;
            Ok(Inquiry::fields_from_json(&value)?)
        }
        Format::Form => serde_urlencoded::from_str(text)
            .map_err(|_| Refusal::malformed("the body is not a valid form encoding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn the_media_type_is_read_without_parameters_or_case() {
        for (ct, essence, format) in [
            ("application/json", "application/json", Format::Json),
            (
                "Application/JSON; charset=utf-8",
                "application/json",
                Format::Json,
            ),
            (
                " application/x-www-form-urlencoded ;charset=UTF-8",
                "application/x-www-form-urlencoded",
                Format::Form,
            ),
        ] {
            assert_eq!(
                MediaType::of(Some(ct)),
                Ok(MediaType {
                    essence: essence.into(),
                    format
                }),
                "{ct}"
            );
        }
    }

    #[test]
    fn other_media_types_are_refused_by_name() {
        assert_eq!(
            MediaType::of(Some("Text/Plain; charset=utf-8")),
            Err(Refusal::UnsupportedMediaType {
                media_type: Some("text/plain".into())
            })
        );
        for missing in [None, Some(""), Some(" ; charset=utf-8")] {
            assert_eq!(
                MediaType::of(missing),
                Err(Refusal::UnsupportedMediaType { media_type: None }),
                "{missing:?}"
            );
        }
    }

    #[test]
    fn the_size_limit_is_on_the_decoded_body_and_checked_before_decoding() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let full = vec![b'x'; MAX_BODY_BYTES];
        assert_eq!(
            read(Some(std::str::from_utf8(&full).unwrap()), false),
            Ok(full.clone())
        );
        assert_eq!(read(Some(&b64(&full)), true), Ok(full));
        let over = vec![b'x'; MAX_BODY_BYTES + 1];
        assert_eq!(
            read(Some(std::str::from_utf8(&over).unwrap()), false),
            Err(Refusal::BodyTooLarge)
        );
        assert_eq!(read(Some(&b64(&over)), true), Err(Refusal::BodyTooLarge));
        // Too long to be within the limit: refused without decoding.
        let junk = "!".repeat(MAX_BODY_BYTES.div_ceil(3) * 4 + 1);
        assert_eq!(read(Some(&junk), true), Err(Refusal::BodyTooLarge));
        assert_eq!(
            read(Some("!!!"), true),
            Err(Refusal::malformed("the body is not valid base64"))
        );
        assert_eq!(read(None, false), Ok(vec![]));
    }

    #[test]
    fn json_objects_and_forms_become_fields_in_order() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            fields(
                Format::Form,
                b"email=a%40example.com&first_name=Ana+Ruiz&x=%C3%A9"
            ),
            Ok(pairs(&[
                ("email", "a@example.com"),
                ("first_name", "Ana Ruiz"),
                ("x", "é")
            ]))
        );
        assert_eq!(
            fields(
                Format::Json,
                br#"{"email":"a@example.com","n":3,"ok":true,"gone":null}"#
            )
            .map(|mut f| {
                f.sort();
                f
            }),
            Ok(pairs(&[
                ("email", "a@example.com"),
                ("n", "3"),
                ("ok", "true")
            ]))
        );
        for (format, body) in [
            (Format::Json, &b"{not json"[..]),
            (Format::Json, b"[\"email\"]"),
            (Format::Form, b"email=\xff"),
        ] {
            let refused = fields(format, body).unwrap_err();
            assert_eq!(refused.explain().code, "malformed_body", "{body:?}");
        }
    }
}
