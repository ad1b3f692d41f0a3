//! Names and bucket boundaries from the OpenTelemetry semantic conventions.

/// Explicit bucket boundaries (seconds) the HTTP and RPC semantic conventions recommend for
/// duration histograms: 5 ms to 10 s.
pub const DURATION_BUCKETS_SECONDS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// `http.server.request.duration` (unit `s`): exposed to Prometheus as
/// `http_server_request_duration_seconds`.
pub const HTTP_SERVER_REQUEST_DURATION: &str = "http.server.request.duration";

/// `http.server.active_requests` (unit `{request}`): exposed as `http_server_active_requests`.
pub const HTTP_SERVER_ACTIVE_REQUESTS: &str = "http.server.active_requests";
