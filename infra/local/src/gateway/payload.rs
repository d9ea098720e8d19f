//! Payload format 2.0: HTTP requests into API Gateway events, function results back into HTTP responses.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::LOCAL_ACCOUNT_ID;

use super::*;

/// What the event is built from.
#[derive(Debug, Clone)]
pub struct HttpRequestParts {
    pub method: String,
    pub raw_path: String,
    pub raw_query: String,
    /// Names as received (any case), in order; repeated names allowed.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    pub protocol: String,
}

/// The API Gateway HTTP API payload format 2.0 event for a matched request.
pub fn api_gateway_event(
    matched: &RouteMatch<'_>,
    request: &HttpRequestParts,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let route = matched.route;
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_string();
    let domain_name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => host.clone(),
    };
    let domain_prefix = domain_name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let user_agent = headers
        .get("user-agent")
        .cloned()
        .unwrap_or(Value::String(String::new()));

    let mut query = Map::new();
    for pair in request.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        match query.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key, Value::String(value));
            }
        }
    }

    let route_key = route.route_key();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": route.spec.api_id,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    let Some(object) = event.as_object_mut() else {
        return event;
    };
    if !cookies.is_empty() {
        object.insert("cookies".into(), Value::Array(cookies));
    }
    if !query.is_empty() {
        object.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !matched.path_parameters.is_empty() {
        let params = matched
            .path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        object.insert("pathParameters".into(), Value::Object(params));
    }
    if !request.body.is_empty() {
        match std::str::from_utf8(&request.body) {
            Ok(text) => {
                object.insert("body".into(), Value::String(text.to_string()));
            }
            Err(_) => {
                object.insert("body".into(), Value::String(B64.encode(&request.body)));
                object.insert("isBase64Encoded".into(), Value::Bool(true));
            }
        }
    }
    event
}

/// An HTTP response, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponseParts {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

pub(super) fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Translates a function's payload format 2.0 response as API Gateway does.
pub fn translate_response(response: &Value) -> Result<HttpResponseParts, String> {
    let structured = response
        .as_object()
        .filter(|o| o.contains_key("statusCode"));
    let Some(object) = structured else {
        // No statusCode: the whole response is a JSON body.
        return Ok(HttpResponseParts {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(response.to_string()),
        });
    };
    let status = match &object["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .and_then(|s| u16::try_from(s).ok())
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| format!("invalid statusCode {}", object["statusCode"]))?;
    let mut headers = Vec::new();
    if let Some(Value::Object(map)) = object.get("headers") {
        for (name, value) in map {
            if let Some(value) = header_text(value) {
                headers.push((name.to_ascii_lowercase(), value));
            }
        }
    }
    if let Some(Value::Object(map)) = object.get("multiValueHeaders") {
        for (name, values) in map {
            if let Value::Array(values) = values {
                for value in values.iter().filter_map(header_text) {
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
        }
    }
    if let Some(Value::Array(cookies)) = object.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), cookie.to_string()));
        }
    }
    let base64 = object
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if base64 => Bytes::from(
            B64.decode(text)
                .map_err(|e| format!("body is not valid base64: {e}"))?,
        ),
        Some(Value::String(text)) => Bytes::from(text.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(HttpResponseParts {
        status,
        headers,
        body,
    })
}
