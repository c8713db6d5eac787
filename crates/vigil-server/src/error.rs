//! Errors as HTTP answers: HMA's shapes (`{"message": …}`, and pydantic's list for a 422).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The body: `{"message": …}` for most, a list for a validation failure.
    pub body: Value,
}

impl ApiError {
    /// `status` with `{"message": message}`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({"message": message.into()}),
        }
    }

    /// 400.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 422 with a pydantic-style error list: one `missing` entry per absent required field.
    pub fn missing(fields: &[&str], input: Value) -> ApiError {
        let list: Vec<Value> = fields
            .iter()
            .map(
                |f| json!({"type": "missing", "loc": [f], "msg": "Field required", "input": input}),
            )
            .collect();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: Value::Array(list),
        }
    }

    /// 422 for a field whose value does not parse (`kind`: pydantic's type, e.g.
    /// `bool_parsing`).
    pub fn unparsable(field: &str, kind: &str, msg: &str, input: Value) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!([{"type": kind, "loc": [field], "msg": msg, "input": input}]),
        }
    }

    /// 422 for a body that is not a JSON object where one is required.
    pub fn not_an_object(input: Value) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!([{"type": "model_type", "loc": [],
                          "msg": "Input should be a valid dictionary or object", "input": input}]),
        }
    }

    /// 415: the route reads JSON and the request is not `application/json`.
    pub fn not_json() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Did not attempt to load JSON data because the request Content-Type was not \
             'application/json'.",
        )
    }

    /// 500, logged; the answer says no more than HMA's does.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server encountered an internal error and was unable to complete your request. \
             Either the server is overloaded or there is an error in the application.",
        )
    }
}

impl From<vigil_store::Error> for ApiError {
    fn from(e: vigil_store::Error) -> Self {
        match e {
            vigil_store::Error::NoBank(b) => ApiError::not_found(format!("bank '{b}' not found")),
            vigil_store::Error::NoContent { id, .. } => {
                ApiError::not_found(format!("content '{id}' not found"))
            }
            vigil_store::Error::Invalid(m) => ApiError::bad(m),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
