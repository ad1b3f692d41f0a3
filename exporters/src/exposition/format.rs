//! Text primitives every encoder uses: float text, escaping, the classic name character set.
//! A leaf: it depends on nothing else in the exporter.

/// A name in the classic character set `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_classic_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
}

pub(crate) fn escape_label_value(value: &str, out: &mut Vec<u8>) {
    escape(value, out, true);
}

/// HELP text: `\` and newline escaped; OpenMetrics also escapes `"`.
pub(crate) fn escape_help(help: &str, out: &mut Vec<u8>, open_metrics: bool) {
    escape(help, out, open_metrics);
}

/// Copies `text`, escaping `\`, newline and (with `quotes`) `"`, in runs rather than byte by byte.
fn escape(text: &str, out: &mut Vec<u8>, quotes: bool) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Float text both formats parse: `+Inf`, `-Inf`, `NaN`, integers without a fraction, an
/// exponent for very large or small magnitudes.
pub(crate) fn float_text(v: f64) -> String {
    let mut buf = FloatBuf::default();
    String::from_utf8_lossy(float_bytes(v, &mut buf)).into_owned()
}

/// Room for any float's text (at most 25 bytes: a sign, 17 significant digits, `0.00000` or an
/// exponent).
pub(crate) type FloatBuf = [u8; 32];

/// [`float_text`] written into `buf`, without allocating (every sample of a gauge or a sum).
pub(crate) fn float_bytes(v: f64, buf: &mut FloatBuf) -> &[u8] {
    use std::io::Write as _;
    let fixed: &[u8] = if v.is_nan() {
        b"NaN"
    } else if v == f64::INFINITY {
        b"+Inf"
    } else if v == f64::NEG_INFINITY {
        b"-Inf"
    } else {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-6) { write!(cursor, "{v:e}") } else { write!(cursor, "{v}") };
        let n = cursor.position() as usize;
        return &buf[..n];
    };
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_text_matches_prometheus_conventions() {
        assert_eq!(float_text(1.0), "1");
        assert_eq!(float_text(0.005), "0.005");
        assert_eq!(float_text(f64::INFINITY), "+Inf");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_text(1e300), "1e300");
        assert_eq!(float_text(-2.5e-9), "-2.5e-9");
        // The longest texts fit the buffer whole.
        for v in
            [-0.000_001_234_567_890_123_456_7, -1.234_567_890_123_456_7e-308, -123_456_789_012_345_680_000.0, f64::MIN, f64::MIN_POSITIVE]
        {
            let mut buf = FloatBuf::default();
            let text = std::str::from_utf8(float_bytes(v, &mut buf)).unwrap().to_owned();
            assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
        }
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Vec::new();
        escape_label_value("a\"b\\c\nd", &mut out);
        assert_eq!(out, b"a\\\"b\\\\c\\nd");
        out.clear();
        escape_help("line1\nline2 \"q\" \\", &mut out, false);
        assert_eq!(out, b"line1\\nline2 \"q\" \\\\");
        out.clear();
        escape_help("\"q\"", &mut out, true);
        assert_eq!(out, b"\\\"q\\\"");
    }
}
