//! The web workspace: static files bundled into this function (no build
//! step), served at `/app/`, and `/app/config.json`, which tells the page how
//! people sign in. The page then calls this same API with a bearer token, so
//! it is authorised exactly like any other client.

use crate::answer::error;
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use serde_json::json;

/// How people sign in to the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Cognito's hosted UI (authorization code with PKCE); the ID token is the bearer.
    Cognito {
        /// `https://<prefix>.auth.<region>.amazoncognito.com`
        domain: String,
        client_id: String,
    },
    /// The local stack's development sign-in: pick a person of the playbook
    /// (`POST /_local/token` on `make dev`'s gateway signs them in to the
    /// emulator's user pool and gives its ID token).
    Local,
}

impl SignIn {
    /// From `WORKSPACE_SIGN_IN` (`local` or `cognito`), `COGNITO_DOMAIN` and
    /// `USER_POOL_CLIENT_ID`, as template.yaml sets them.
    pub fn from_env(mode: Option<String>, domain: Option<String>, client: Option<String>) -> Self {
        match (mode.as_deref(), domain, client) {
            (Some("local"), _, _) => SignIn::Local,
            (_, Some(domain), Some(client_id)) => SignIn::Cognito {
                domain: domain.trim_end_matches('/').to_string(),
                client_id,
            },
            _ => SignIn::Local,
        }
    }
}

const INDEX: &str = include_str!("../app/index.html");
const SCRIPT: &str = include_str!("../app/app.js");
const STYLE: &str = include_str!("../app/app.css");
/// The page's icon (declared in the page, so no browser asks for a
/// `/favicon.ico` nobody serves).
const ICON: &str = include_str!("../app/icon.svg");

fn file(content_type: &'static str, body: String, cache: &'static str) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = 200;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("cache-control", HeaderValue::from_static(cache));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' https://*.amazoncognito.com; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r.headers = headers;
    r.body = Some(Body::Text(body));
    r
}

/// `GET /app/{file}` (`""` for `/app` and `/app/`).
pub fn serve(path: &str, sign_in: &SignIn) -> ApiGatewayV2httpResponse {
    match path.trim_start_matches('/') {
        "" | "index.html" => file("text/html; charset=utf-8", INDEX.to_string(), "no-cache"),
        "app.js" => file(
            "text/javascript; charset=utf-8",
            SCRIPT.to_string(),
            "no-cache",
        ),
        "app.css" => file("text/css; charset=utf-8", STYLE.to_string(), "no-cache"),
        "icon.svg" => file("image/svg+xml", ICON.to_string(), "max-age=86400"),
        "config.json" => {
            let config = match sign_in {
                SignIn::Cognito { domain, client_id } => json!({
                    "sign_in": "cognito",
                    "cognito": { "domain": domain, "client_id": client_id },
                }),
                SignIn::Local => json!({ "sign_in": "local" }),
            };
            file("application/json", config.to_string(), "no-store")
        }
        _ => error(404, "not_found", "no such file in the workspace", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page declares its icon and the icon is served: no browser asks
    /// for a `/favicon.ico` and logs its 404 on every load.
    #[test]
    fn the_page_declares_an_icon_that_is_served() {
        let page = serve("", &SignIn::Local);
        let Some(Body::Text(html)) = &page.body else {
            panic!("the page");
        };
        assert!(
            html.contains(r#"<link rel="icon" href="/app/icon.svg""#),
            "{html}"
        );
        let icon = serve("icon.svg", &SignIn::Local);
        assert_eq!(icon.status_code, 200);
        assert_eq!(icon.headers["content-type"], "image/svg+xml");
        let Some(Body::Text(svg)) = &icon.body else {
            panic!("the icon");
        };
        assert!(svg.starts_with("<svg"));
    }
}
