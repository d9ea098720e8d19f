//! Routes: which function answers which method and path.

use std::collections::BTreeMap;

use crate::template::HttpRouteSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// A route of the HTTP API and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub spec: HttpRouteSpec,
    /// Logical id of the function.
    pub function: String,
    segments: Vec<Segment>,
}

impl Route {
    pub fn new(spec: HttpRouteSpec, function: impl Into<String>) -> Result<Self, String> {
        let mut segments = Vec::new();
        if spec.path != "$default" {
            let parts: Vec<&str> = spec.path.trim_start_matches('/').split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) if i + 1 == parts.len() => Segment::Greedy(greedy.to_string()),
                        Some(_) => {
                            return Err(format!(
                                "{}: a greedy {{name+}} must be the last segment",
                                spec.path
                            ))
                        }
                        None if name.is_empty() => {
                            return Err(format!("{}: empty parameter", spec.path))
                        }
                        None => Segment::Param(name.to_string()),
                    },
                    None => Segment::Literal((*part).to_string()),
                };
                segments.push(segment);
            }
        }
        Ok(Self {
            spec,
            function: function.into(),
            segments,
        })
    }

    pub fn route_key(&self) -> String {
        self.spec.route_key()
    }

    fn is_default(&self) -> bool {
        self.spec.path == "$default"
    }

    /// Path parameters when `path` (raw, starting with `/`) matches.
    fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        if self.is_default() {
            return Some(BTreeMap::new());
        }
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let mut params = BTreeMap::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(i) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    params.insert(name.clone(), percent_decode(part));
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&rest));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Higher is more specific: literal segments, then parameters, then exact method.
    fn specificity(&self) -> (u8, usize, usize, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let params = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Param(_)))
            .count();
        let greedy = self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)));
        let class = if self.is_default() {
            0
        } else if greedy {
            1
        } else {
            2
        };
        (class, literals, params, self.spec.method != "ANY")
    }
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
}

/// Every route of the stack's HTTP APIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Routes from `(route, function logical id)` pairs; the same route key twice is an error.
    pub fn new(routes: impl IntoIterator<Item = (HttpRouteSpec, String)>) -> Result<Self, String> {
        let mut table = Vec::<Route>::new();
        for (spec, function) in routes {
            let route = Route::new(spec, function)?;
            if let Some(other) = table.iter().find(|r| r.route_key() == route.route_key()) {
                return Err(format!(
                    "route {} is declared by both {} and {}",
                    route.route_key(),
                    other.function,
                    route.function
                ));
            }
            table.push(route);
        }
        Ok(Self { routes: table })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The most specific route for `method` and raw `path`.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        // A trailing slash (`/app/`) is the route without it (`/app`), as API
        // Gateway's HTTP APIs match it, when nothing matches it as it is.
        self.find_exact(method, path).or_else(|| {
            path.strip_suffix('/')
                .filter(|p| !p.is_empty())
                .and_then(|p| self.find_exact(method, p))
        })
    }

    fn find_exact(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        self.routes
            .iter()
            .filter(|r| r.spec.method == "ANY" || r.spec.method.eq_ignore_ascii_case(method))
            .filter_map(|r| r.match_path(path).map(|p| (r, p)))
            .max_by_key(|(r, _)| r.specificity())
            .map(|(route, path_parameters)| RouteMatch {
                route,
                path_parameters,
            })
    }
}

/// Decodes `%XX` escapes (invalid escapes stay as they are).
pub fn percent_decode(text: &str) -> String {
    // An invalid escape ("100%", "%zz") is kept as it is; `+` is not a space in a path.
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
