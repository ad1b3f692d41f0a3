//! Histogram bucket boundaries: unit-aware defaults and the common sets.

/// The OTel semantic-convention duration buckets, in seconds: 5 ms to 10 s.
pub const SECONDS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/// The SDK's own default boundaries, for a histogram that gives none and whose unit has no
/// default here.
pub const SDK_DEFAULT: [f64; 15] = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0];

/// Request durations (seconds): 5 ms to 10 s.
pub const REQUEST_DURATION: [f64; 14] = SECONDS;
/// Token counts per call: 10 to 50,000.
pub const TOKEN_USAGE: [f64; 12] = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0];
/// Retrieval time (seconds): 1 ms to 5 s.
pub const RETRIEVAL_TIME: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Model call duration (seconds): 100 ms to 30 s.
pub const MODEL_CALL_DURATION: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 30.0];
/// Database query duration (seconds): 1 ms to 1 s.
pub const DB_QUERY_DURATION: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Default boundaries for a histogram of `unit`: the semantic-convention durations for `s`,
/// the same ×1000 for `ms`, powers of 4 from 64 B to 1 GiB for `By`; `None` leaves the SDK's
/// default (0 … 10,000) for anything else.
pub fn for_unit(unit: &str) -> Option<Vec<f64>> {
    match unit {
        "s" => Some(SECONDS.to_vec()),
        "ms" => Some(SECONDS.iter().map(|b| b * 1000.0).collect()),
        "us" => Some(SECONDS.iter().map(|b| b * 1_000_000.0).collect()),
        "By" => Some((3..=15).map(|p| 4f64.powi(p)).collect()),
        _ => None,
    }
}

/// The boundary between base-2 exponential buckets `index - 1` and `index` at `scale`:
/// `2^(index × 2^-scale)`. Bucket `index` holds (boundary(index), boundary(index + 1)].
pub fn exponential_boundary(scale: i8, index: i64) -> f64 {
    2f64.powf(index as f64 * 2f64.powi(-i32::from(scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_get_fitting_defaults() {
        assert_eq!(for_unit("s").unwrap()[0], 0.005);
        assert_eq!(for_unit("ms").unwrap()[13], 10_000.0);
        let bytes = for_unit("By").unwrap();
        assert_eq!((bytes[0], *bytes.last().unwrap()), (64.0, 1_073_741_824.0));
        assert!(for_unit("{request}").is_none());
    }

    #[test]
    fn exponential_boundaries_double_every_two_to_the_scale_buckets() {
        assert_eq!(exponential_boundary(0, 3), 8.0);
        assert_eq!(exponential_boundary(1, 2), 2.0);
        assert_eq!(exponential_boundary(-1, 1), 4.0);
    }
}
