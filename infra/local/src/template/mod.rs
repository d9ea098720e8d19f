//! `template.yaml` (AWS SAM), read and resolved for one local deployment.
//!
//! [`Template`] is the parsed file with CloudFormation short tags (`!Ref`,
//! `!GetAtt`, `!Sub`, ...) turned into their long forms (`Ref`, `Fn::GetAtt`, ...).
//! [`StackModel::resolve`] evaluates parameters, conditions and `Globals`, resolves
//! intrinsic functions against the local deployment (physical names
//! `{stack}-{LogicalId}`, queue URLs of the emulator) and yields what has to be
//! provisioned and run. Whatever the template asks for that cannot be run
//! locally is an error naming the resource, never silently dropped.
//!
//! The file is split along its seams: [`parse`] (the file as written), [`model`]
//! (what a local deployment is made of), [`resolve`] (from one to the other) and
//! [`intrinsics`] (conditions, pseudo parameters and the intrinsic functions the
//! project's template uses; any other is refused, naming where it appears).

use serde_yaml::Value;

mod intrinsics;
mod model;
mod parse;
mod resolve;

pub use intrinsics::{SUPPORTED_FUNCTIONS, SUPPORTED_PSEUDO_PARAMETERS};
pub use model::*;
pub use parse::{normalize, ParameterDef, ResourceDef, Template};
pub use resolve::{merge_globals, parse_rate, physical_name};

/// Why a template could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Invalid(String),
    #[error("template resource {resource}: {message}")]
    Resource { resource: String, message: String },
}

pub(crate) fn invalid(message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(message.into())
}

pub(crate) fn at(resource: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Resource {
        resource: resource.to_string(),
        message: message.into(),
    }
}

pub(crate) type Result<T, E = TemplateError> = std::result::Result<T, E>;

pub(crate) fn brief(value: &Value) -> String {
    let text = serde_yaml::to_string(value).unwrap_or_default();
    let text = text.trim().replace('\n', " ");
    if text.len() > 80 {
        let mut end = 80;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
