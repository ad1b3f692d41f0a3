//! The rules the OpenTelemetry SDK applies to a new instrument: what it refuses, and why. The
//! catalog refuses such declarations and the pipeline's meters report such instruments; both
//! ask here.

/// Why the SDK would refuse an instrument with this name, unit and boundaries, if it would.
pub(crate) fn refusal(name: &str, unit: Option<&str>, boundaries: Option<&[f64]>) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.len() > 255 {
        return Some(format!("the name is {} bytes long; at most 255 are allowed", name.len()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("the name must start with an ASCII letter".into());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_alphanumeric() && !['_', '.', '-', '/'].contains(c)) {
        return Some(format!("the name holds {c:?}; only ASCII letters, digits, `_`, `.`, `-` and `/` are allowed"));
    }
    if let Some(unit) = unit {
        if unit.len() > 63 || !unit.is_ascii() {
            return Some(format!("the unit {unit:?} must be ASCII and at most 63 bytes long"));
        }
    }
    if let Some(bounds) = boundaries {
        if bounds.iter().any(|b| !b.is_finite()) || bounds.windows(2).any(|w| w[1] <= w[0]) {
            return Some(format!("the bucket boundaries {bounds:?} must be finite and strictly increasing"));
        }
    }
    None
}
