//! Choosing the exposition format from a scraper's `Accept` header, as the Prometheus
//! exposition docs describe.

use super::naming::Escaping;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4 (the fallback).
    Text,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf, the only format that
    /// carries native histograms to Prometheus 2.x.
    Protobuf,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
        }
    }

    /// A short name, for the self-metrics' `format` label.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
            Format::Protobuf => "protobuf",
        }
    }

    /// Every format, in the order of preference when a scraper likes them equally.
    pub const ALL: [Format; 3] = [Format::Protobuf, Format::OpenMetrics, Format::Text];
}

/// What a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The format to answer in.
    pub format: Format,
    /// How names outside `[a-zA-Z0-9_:]` are written (`escaping=`; `underscores` when absent).
    pub escaping: Escaping,
}

impl Negotiated {
    /// Whether the scraper takes UTF-8 metric and label names (`escaping=allow-utf-8`).
    pub fn utf8_names(&self) -> bool {
        self.escaping == Escaping::AllowUtf8
    }

    /// The answer's `Content-Type`: the format's, with the escaping used when the scraper asked
    /// for one other than the classic `underscores` (and text as version 1.0.0, the version
    /// that can say it).
    pub fn content_type(&self) -> &'static str {
        match (self.format, self.escaping) {
            (Format::Text, Escaping::AllowUtf8) => "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            (Format::Text, Escaping::Dots) => "text/plain; version=1.0.0; charset=utf-8; escaping=dots",
            (Format::Text, Escaping::Values) => "text/plain; version=1.0.0; charset=utf-8; escaping=values",
            (Format::OpenMetrics, Escaping::AllowUtf8) => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
            }
            (Format::OpenMetrics, Escaping::Dots) => "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
            (Format::OpenMetrics, Escaping::Values) => "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values",
            (Format::Protobuf, Escaping::AllowUtf8) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
            }
            (Format::Protobuf, Escaping::Dots) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=dots"
            }
            (Format::Protobuf, Escaping::Values) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=values"
            }
            (format, _) => format.content_type(),
        }
    }
}

/// The best of `enabled` for an `Accept` header; text 0.0.4 when nothing else matches.
///
/// Prometheus 3 puts its scrape config's name escaping on the text formats of its `Accept`
/// header only, never on protobuf; a protobuf answer then takes the scheme the same header
/// states for the text formats (one scheme per scrape config), so a Prometheus that validates
/// UTF-8 names gets them in protobuf too. Without any stated scheme (Prometheus 2), names are
/// escaped with underscores.
pub fn negotiate(accept: Option<&str>, enabled: &[Format]) -> Negotiated {
    let accept = accept.unwrap_or("");
    let stated = accept.split(',').flat_map(|range| range.split(';').skip(1)).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim().eq_ignore_ascii_case("escaping").then(|| Escaping::parse(v.trim().trim_matches('"')).unwrap_or_default())
    });
    let mut best: Option<(f32, Negotiated)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let (mut q, mut proto, mut escaping) = (1.0f32, None, None);
        for param in parts {
            let Some((k, v)) = param.split_once('=') else { continue };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.parse().unwrap_or(0.0),
                "proto" => proto = Some(v.to_owned()),
                "escaping" => escaping = Some(Escaping::parse(v).unwrap_or_default()),
                _ => {}
            }
        }
        let format = match media.as_str() {
            "application/vnd.google.protobuf" if proto.as_deref() == Some("io.prometheus.client.MetricFamily") => Format::Protobuf,
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" | "text/*" | "*/*" => Format::Text,
            _ => continue,
        };
        if q <= 0.0 || (format != Format::Text && !enabled.contains(&format)) {
            continue;
        }
        let escaping = match (escaping, format) {
            (Some(escaping), _) => escaping,
            (None, Format::Protobuf) => stated.unwrap_or_default(),
            (None, _) => Escaping::Underscores,
        };
        if best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, Negotiated { format, escaping }));
        }
    }
    best.map_or(Negotiated { format: Format::Text, escaping: Escaping::Underscores }, |(_, n)| n)
}

/// Whether an `Accept-Encoding` value accepts gzip: a `gzip` (or `x-gzip`, or `*`) coding, in
/// any case, whose `q` is above 0.
pub(crate) fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let q = parts.filter_map(|p| p.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("q")).map(|(_, v)| v.trim());
        ["gzip", "x-gzip", "*"].iter().any(|g| name.eq_ignore_ascii_case(g)) && q.is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    const NATIVE_HISTOGRAMS: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

    #[test]
    fn prometheus_gets_its_preferred_format() {
        assert_eq!(negotiate(Some(PROMETHEUS_2_42), &Format::ALL).format, Format::OpenMetrics);
        assert_eq!(negotiate(Some(NATIVE_HISTOGRAMS), &Format::ALL).format, Format::Protobuf);
    }

    #[test]
    fn disabled_formats_fall_through_to_the_next_choice() {
        assert_eq!(negotiate(Some(NATIVE_HISTOGRAMS), &[Format::OpenMetrics]).format, Format::OpenMetrics);
        assert_eq!(negotiate(Some(PROMETHEUS_2_42), &[Format::Text]).format, Format::Text);
    }

    #[test]
    fn missing_or_unknown_accept_means_text() {
        assert_eq!(negotiate(None, &Format::ALL).format, Format::Text);
        assert_eq!(negotiate(Some("application/json"), &Format::ALL).format, Format::Text);
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0"), &Format::ALL).format, Format::Text);
    }

    #[test]
    fn utf8_escaping_parameter_is_honoured() {
        let n = negotiate(Some("text/plain;version=1.0.0;escaping=allow-utf-8"), &Format::ALL);
        assert!(n.utf8_names());
        assert!(!negotiate(Some("text/plain;version=0.0.4"), &Format::ALL).utf8_names());
        for (value, escaping) in [
            ("dots", Escaping::Dots),
            ("values", Escaping::Values),
            ("underscores", Escaping::Underscores),
            ("bogus", Escaping::Underscores),
        ] {
            let accept = format!("application/openmetrics-text;version=1.0.0;escaping={value}");
            assert_eq!(negotiate(Some(&accept), &Format::ALL).escaping, escaping, "{value}");
        }
    }

    #[test]
    fn gzip_is_accepted_at_any_positive_q_in_any_case() {
        for yes in ["gzip", "GZIP", "gzip;q=0.5", "deflate, gzip;q=0.001", "br;q=1.0, Gzip ; q=1", "x-gzip", "*", "gzip;q=1.0"] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in ["", "identity", "gzip;q=0", "gzip;q=0.0", "gzip;q=0.000", "deflate", "gzipx", "*;q=0"] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn protobuf_takes_the_escaping_prometheus_3_states_for_its_text_formats() {
        // What Prometheus 3.16 sends with `scrape_native_histograms: true`.
        let prometheus_3 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        let n = negotiate(Some(prometheus_3), &Format::ALL);
        assert_eq!((n.format, n.escaping), (Format::Protobuf, Escaping::AllowUtf8));
        let underscores = prometheus_3.replace("allow-utf-8", "underscores");
        assert_eq!(negotiate(Some(&underscores), &Format::ALL).escaping, Escaping::Underscores);
        // Nothing stated (Prometheus 2): underscores; text 0.0.4 never takes a stated scheme.
        assert_eq!(negotiate(Some(NATIVE_HISTOGRAMS), &Format::ALL).escaping, Escaping::Underscores);
        let text_only = "text/plain;version=0.0.4;q=0.9,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.1";
        assert_eq!(negotiate(Some(text_only), &Format::ALL).escaping, Escaping::Underscores);
    }
}
