//! InfluxDB line protocol, one line per Prometheus sample: the sample name is split at its last
//! `_` into measurement and field, so stores that name series `<measurement>_<field>`
//! (VictoriaMetrics, Telegraf's Prometheus output) get exactly the names a scrape would give.

use super::format::float_text;
use super::writer::{FamilyHead, HistogramPoint, Kind, Labels, Number, SummaryPoint, Writer};

/// Writes line protocol; no timestamps (the receiver stamps each write).
pub(crate) struct InfluxWriter<'o> {
    out: &'o mut Vec<u8>,
    /// The current point's tag set, rendered once for all its lines.
    tags: Vec<u8>,
}

impl<'o> InfluxWriter<'o> {
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Self {
        InfluxWriter { out, tags: Vec::with_capacity(256) }
    }

    fn render_tags(&mut self, labels: &Labels<'_>) {
        self.tags.clear();
        for (name, value) in labels.iter().filter(|(_, v)| !v.is_empty()) {
            self.tags.push(b',');
            escape(name, &mut self.tags, false);
            self.tags.push(b'=');
            escape(value, &mut self.tags, false);
        }
    }

    /// One line: `measurement,tags[,le=..] field=value`.
    fn line(&mut self, sample: &str, le: Option<&str>, value: &str) {
        self.line_tagged(sample, le.map(|le| ("le", le)), value);
    }

    /// A line with one more tag (`le`, `quantile`) after the rendered ones.
    fn line_tagged(&mut self, sample: &str, extra: Option<(&str, &str)>, value: &str) {
        let (measurement, field) = match sample.rsplit_once('_') {
            Some((m, f)) if !m.is_empty() && !f.is_empty() => (m, f),
            _ => (sample, "value"),
        };
        escape(measurement, self.out, true);
        self.out.extend_from_slice(&self.tags);
        if let Some((tag, text)) = extra {
            self.out.push(b',');
            escape(tag, self.out, false);
            self.out.push(b'=');
            escape(text, self.out, false);
        }
        self.out.push(b' ');
        escape(field, self.out, false);
        self.out.push(b'=');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'\n');
    }
}

/// Escapes `,`, ` ` and (outside measurements) `=` with a backslash; newlines become spaces
/// (line protocol cannot carry them).
fn escape(text: &str, out: &mut Vec<u8>, measurement: bool) {
    for c in text.chars() {
        match c {
            ',' | ' ' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            '=' if !measurement => out.extend_from_slice(b"\\="),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' | '\r' => out.extend_from_slice(b"\\ "),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn number_text(value: Number) -> String {
    match value {
        // Line protocol floats: exact for counts up to 2^53, readable everywhere.
        Number::U64(v) => v.to_string(),
        Number::I64(v) => v.to_string(),
        Number::F64(v) => float_text(v),
    }
}

impl Writer for InfluxWriter<'_> {
    fn family(&mut self, _head: &FamilyHead<'_>) {}

    fn number(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, value: Number, _exemplar: Option<&otel_core::export::Exemplar>) {
        // Line protocol has no NaN or infinities.
        if let Number::F64(v) = value {
            if !v.is_finite() {
                return;
            }
        }
        self.render_tags(labels);
        let value = number_text(value);
        match head.kind {
            Kind::Counter => {
                let total = if head.name.ends_with("_total") { head.name.to_owned() } else { format!("{}_total", head.name) };
                self.line(&total, None, &value);
            }
            _ => self.line(head.name, None, &value),
        }
    }

    fn summary(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &SummaryPoint<'_>) {
        self.render_tags(labels);
        for (quantile, value) in point.quantiles.iter().filter(|(_, v)| v.is_finite()) {
            self.line_tagged(head.name, Some(("quantile", quantile)), &float_text(*value));
        }
        if point.sum.is_finite() {
            self.line(&format!("{}_sum", head.name), None, &float_text(point.sum));
        }
        self.line(&format!("{}_count", head.name), None, &point.count.to_string());
    }

    fn histogram(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &HistogramPoint<'_>) {
        self.render_tags(labels);
        let bucket = format!("{}_bucket", head.name);
        let mut cumulative = 0u64;
        for (le, count) in point.le.iter().zip(point.counts) {
            cumulative += count;
            self.line(&bucket, Some(le), &cumulative.to_string());
        }
        self.line(&bucket, Some("+Inf"), &point.count.to_string());
        if point.sum.is_finite() {
            self.line(&format!("{}_sum", head.name), None, &float_text(point.sum));
        }
        self.line(&format!("{}_count", head.name), None, &point.count.to_string());
    }

    fn finish(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_names_are_escaped_and_split_at_the_last_underscore() {
        let mut out = Vec::new();
        let mut writer = InfluxWriter::new(&mut out);
        let head = FamilyHead { name: "orders_placed_total", help: "", unit: "", kind: Kind::Counter };
        let labels = [("route".into(), "/a b,c=d".into()), ("empty".into(), "".into())];
        writer.number(&head, &labels, Number::U64(42), None);
        let up = FamilyHead { name: "up", help: "", unit: "", kind: Kind::Gauge };
        writer.number(&up, &[], Number::F64(1.0), None);
        assert_eq!(String::from_utf8_lossy(&out), "orders_placed,route=/a\\ b\\,c\\=d total=42\nup value=1\n");
    }
}
