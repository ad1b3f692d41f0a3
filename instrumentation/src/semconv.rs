//! Names from the OpenTelemetry semantic conventions, taken from the
//! `opentelemetry-semantic-conventions` crate so a renamed convention is one dependency bump
//! away.

pub use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, RPC_METHOD, SERVER_ADDRESS, SERVER_PORT, URL_SCHEME,
    URL_TEMPLATE,
};
pub use opentelemetry_semantic_conventions::metric::{
    HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_BODY_SIZE, HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_RESPONSE_BODY_SIZE,
};

// The RPC conventions are being renamed upstream (`rpc.server.call.duration`,
// `rpc.system.name`, `rpc.response.status_code`); the crate marks the names below deprecated.
// They are the ones collectors, dashboards and the gRPC instrumentation of other languages
// emit today, so they stay until the renames are stable.

/// `rpc.server.duration` (s).
pub const RPC_SERVER_DURATION: &str = "rpc.server.duration";
/// `rpc.client.duration` (s).
pub const RPC_CLIENT_DURATION: &str = "rpc.client.duration";
/// `rpc.system`.
pub const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`.
pub const RPC_SERVICE: &str = "rpc.service";
/// `rpc.grpc.status_code`.
pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
