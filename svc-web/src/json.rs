//! JSON request bodies with clear errors: malformed JSON is a 400 naming the line and
//! column, a wrong type or a missing field a 422 naming the field, and an unknown field a 422
//! naming it (rather than being silently ignored, as serde would). Edits are JSON objects
//! laid over the current record ([`patch`]), so a client sends only what it changes.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON body of type `T`, checked as described above.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// Decodes `bytes` as `T`, refusing unknown fields.
///
/// # Errors
/// An [`ApiError`] saying what is wrong and where.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let value: T = serde_ignored::deserialize(
        serde_path_to_error::Deserializer::new(&mut de, &mut track),
        |path| unknown.push(path.to_string()),
    )
    .map_err(|e| json_error(e, &track.path().to_string()))?;
    de.end().map_err(|e| json_error(e, "."))?;
    if let Some(first) = unknown.first() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
            format!("unknown field `{first}`"),
        ));
    }
    Ok(value)
}

fn json_error(e: serde_json::Error, path: &str) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json_value",
            plain_words(&e.to_string(), path),
        ),
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        ),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_json",
                "the request body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "body", e.body_text()))?;
        decode(&bytes).map(Body)
    }
}

/// serde's message about a wrong value in words for an administrator: the field named (as
/// the path `path` gives it, `.` for the whole body) and Rust's type names replaced by what
/// the field takes. "invalid value: integer `70000`, expected u16" at `fixed_port` becomes
/// "fixed port: 70000 is not a whole number from 0 to 65535".
fn plain_words(message: &str, path: &str) -> String {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .trim_start_matches("invalid value: ")
        .trim_start_matches("invalid type: ");
    let takes = |ty: &str| -> Option<String> {
        Some(match ty {
            "u8" => "a whole number from 0 to 255".into(),
            "u16" => "a whole number from 0 to 65535".into(),
            "u32" => "a whole number from 0 to 4294967295".into(),
            "u64" => "a whole number of 0 or more".into(),
            "i32" | "i64" => "a whole number".into(),
            "a boolean" => "true or false".into(),
            "a string" => "text in quotes".into(),
            _ => return None,
        })
    };
    let value = [
        "integer ",
        "string ",
        "floating point ",
        "boolean ",
        "map",
        "sequence",
    ]
    .iter()
    .any(|kind| message.starts_with(kind));
    let words = match message.split_once(", expected ") {
        Some((got, expected)) if value => {
            let got = ["integer ", "string ", "floating point ", "boolean "]
                .iter()
                .fold(got, |g, kind| g.trim_start_matches(kind))
                .replace('`', "");
            match takes(expected) {
                Some(t) => format!("{got} is not {t}"),
                None => format!("{got} is not {}", expected.replace('`', "\"")),
            }
        }
        _ => message.replace('`', "\""),
    };
    match path.trim_matches('.') {
        "" => words,
        field => format!("{}: {words}", field.replace('_', " ")),
    }
}

/// `current` with the fields of the JSON object `changes` replaced.
///
/// # Errors
/// 400 when `changes` is not an object, 422 for an unknown field or a wrong type.
pub fn patch<T: Serialize + DeserializeOwned>(
    current: &T,
    changes: serde_json::Value,
) -> Result<T, ApiError> {
    let serde_json::Value::Object(changes) = changes else {
        return Err(ApiError::bad_request(
            "an edit is a JSON object of the fields to change",
        ));
    };
    let mut value = serde_json::to_value(current).map_err(|e| ApiError::internal(e.to_string()))?;
    let serde_json::Value::Object(fields) = &mut value else {
        return Err(ApiError::internal("record is not an object"));
    };
    for (key, new) in changes {
        if !fields.contains_key(&key) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_field",
                format!("unknown field `{key}`"),
            ));
        }
        fields.insert(key, new);
    }
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::internal(e.to_string()))?;
    decode(&bytes)
}

/// A new record: the JSON object `fields` laid over the type's defaults, so a client sends
/// only the fields it sets.
///
/// # Errors
/// As [`patch`].
pub fn create<T: Serialize + DeserializeOwned + Default>(
    fields: serde_json::Value,
) -> Result<T, ApiError> {
    patch(&T::default(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Thing {
        name: String,
        count: u32,
    }

    #[test]
    fn each_kind_of_bad_body_has_its_own_error() {
        assert_eq!(
            decode::<Thing>(br#"{"name":"a","count":1}"#).unwrap(),
            Thing {
                name: "a".into(),
                count: 1
            }
        );
        let e = decode::<Thing>(br#"{"name":"a","count":"#).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "malformed_json"));
        let e = decode::<Thing>(br#"{"name":"a","count":"x"}"#).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (422, "invalid_json_value"));
        assert_eq!(
            e.message,
            "count: \"x\" is not a whole number from 0 to 4294967295"
        );
        let e = decode::<Thing>(br#"{"name":"a"}"#).unwrap_err();
        assert_eq!(e.message, "missing field \"count\"");
        let e = decode::<Thing>(br#"{"name":"a","count":1,"extra":true}"#).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("unknown_field", "unknown field `extra`")
        );
        let e = decode::<Thing>(br#"{"name":"a","count":1} trailing"#).unwrap_err();
        assert_eq!(e.code, "malformed_json");
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let current = Thing {
            name: "a".into(),
            count: 1,
        };
        let changed = patch(&current, serde_json::json!({"count": 5})).unwrap();
        assert_eq!(
            changed,
            Thing {
                name: "a".into(),
                count: 5
            }
        );
        assert_eq!(
            patch(&current, serde_json::json!({"nope": 1}))
                .unwrap_err()
                .code,
            "unknown_field"
        );
        assert_eq!(
            patch(&current, serde_json::json!([1])).unwrap_err().code,
            "bad_request"
        );
        assert_eq!(
            patch(&current, serde_json::json!({"count": -1}))
                .unwrap_err()
                .code,
            "invalid_json_value"
        );
    }

    #[test]
    fn type_errors_are_said_in_words_with_the_field() {
        assert_eq!(
            plain_words(
                "invalid value: integer `70000`, expected u16 at line 1 column 20",
                "fixed_port"
            ),
            "fixed port: 70000 is not a whole number from 0 to 65535"
        );
        assert_eq!(
            plain_words("invalid type: integer `1`, expected a boolean", "enabled"),
            "enabled: 1 is not true or false"
        );
        assert_eq!(
            plain_words(
                "unknown variant `Sometimes`, expected `Fixed` or `Dynamic`",
                "rel_type"
            ),
            "rel type: unknown variant \"Sometimes\", expected \"Fixed\" or \"Dynamic\""
        );
    }
}
