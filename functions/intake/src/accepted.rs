//! What an accepted post is told: 202 with `{"response_id","status"}` for
//! JSON, or 303 to the thank-you page for a form. A replay of an earlier
//! answer says so in `Idempotent-Replayed`. A post taken for spam is told
//! the same, with a response id of its own that names nothing stored.

use crate::response;
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use leadflow::app::intake::Accepted;
use leadflow::ports::Answer;
use leadflow::ResponseId;
use serde_json::json;

pub fn answer(accepted: Accepted) -> ApiGatewayV2httpResponse {
    thank(accepted.answer, accepted.replayed, accepted.response_id)
}

/// What an accepted post would have been told, for one that was not recorded.
pub fn as_if_accepted(answer: Answer) -> ApiGatewayV2httpResponse {
    thank(answer, false, Some(ResponseId::generate()))
}

fn thank(
    answer: Answer,
    replayed: bool,
    response_id: Option<ResponseId>,
) -> ApiGatewayV2httpResponse {
    let mut resp = response(match answer {
        Answer::Received => 202,
        Answer::Redirect { .. } => 303,
    });
    if replayed {
        resp.headers
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    let (content_type, text) = match answer {
        Answer::Redirect { location: loc } => {
            if let Ok(v) = HeaderValue::from_str(&loc) {
                resp.headers.insert("location", v);
            }
            ("text/plain; charset=utf-8", format!("Thank you. See {loc}"))
        }
        Answer::Received => {
            // The response's id, never the lead's: the answer must not tell
            // a stranger whether (or since when) a person is known.
            let mut answer = json!({ "status": "received" });
            if let Some(id) = &response_id {
                answer["response_id"] = json!(id);
            }
            ("application/json", answer.to_string())
        }
    };
    resp.headers
        .insert("content-type", HeaderValue::from_static(content_type));
    resp.body = Some(Body::Text(text));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow::LeadId;

    fn accepted(location: Option<&str>, response_id: Option<ResponseId>) -> Accepted {
        Accepted {
            lead_id: LeadId::generate(),
            answer: match location {
                Some(l) => Answer::Redirect {
                    location: l.to_string(),
                },
                None => Answer::Received,
            },
            replayed: false,
            response_id,
            new_lead: true,
        }
    }

    fn text(r: &ApiGatewayV2httpResponse) -> &str {
        match &r.body {
            Some(Body::Text(t)) => t,
            _ => "",
        }
    }

    #[test]
    fn json_posts_are_told_the_response_never_the_lead() {
        let a = accepted(None, Some(ResponseId::generate()));
        let lead = a.lead_id.to_string();
        let id = a.response_id.clone().unwrap();
        let r = answer(a);
        assert_eq!(r.status_code, 202);
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(r.headers.get("idempotent-replayed").is_none());
        let b: serde_json::Value = serde_json::from_str(text(&r)).unwrap();
        assert_eq!(b, json!({"status": "received", "response_id": id}));
        assert!(!text(&r).contains(&lead));
        // An answer stored before responses were named replays without one.
        let r = answer(Accepted {
            replayed: true,
            ..accepted(None, None)
        });
        assert_eq!(text(&r), r#"{"status":"received"}"#);
        assert_eq!(r.headers["idempotent-replayed"], "true");
    }

    #[test]
    fn form_posts_are_sent_on_with_a_short_note() {
        let r = answer(accepted(Some("https://www.example.com/thanks"), None));
        assert_eq!(r.status_code, 303);
        assert_eq!(r.headers["location"], "https://www.example.com/thanks");
        assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(text(&r), "Thank you. See https://www.example.com/thanks");
    }
}
