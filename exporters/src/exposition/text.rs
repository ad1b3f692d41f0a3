//! The text formats: Prometheus text 0.0.4 and OpenMetrics 1.0.0.

use std::io::Write as _;

use super::format::{escape_help, escape_label_value, float_bytes, is_classic_name, FloatBuf};
use otel_core::export::Exemplar;

use super::writer::{FamilyHead, HistogramPoint, Kind, Labels, Number, SummaryPoint, Writer};

/// Writes text 0.0.4 (`open_metrics == false`) or OpenMetrics 1.0.0.
pub(crate) struct TextWriter<'o> {
    out: &'o mut Vec<u8>,
    open_metrics: bool,
    /// Quote names that are not classic (`{"my.metric"}`), for scrapers that allow UTF-8.
    utf8_names: bool,
    /// The rendered label set of the current point, reused across its samples.
    scratch: Vec<u8>,
}

impl<'o> TextWriter<'o> {
    pub(crate) fn new(out: &'o mut Vec<u8>, open_metrics: bool, utf8_names: bool) -> Self {
        TextWriter { out, open_metrics, utf8_names, scratch: Vec::with_capacity(256) }
    }

    /// The family name as written: OpenMetrics counters drop `_total` (their sample keeps it).
    fn family_name<'h>(&self, head: &FamilyHead<'h>) -> &'h str {
        match head.kind {
            Kind::Counter if self.open_metrics => head.name.strip_suffix("_total").unwrap_or(head.name),
            Kind::Info if self.open_metrics => head.name.strip_suffix("_info").unwrap_or(head.name),
            _ => head.name,
        }
    }

    fn render_labels(&mut self, labels: &Labels<'_>) {
        self.scratch.clear();
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                self.scratch.push(b',');
            }
            write_name(&mut self.scratch, name, self.utf8_names);
            self.scratch.extend_from_slice(b"=\"");
            escape_label_value(value, &mut self.scratch);
            self.scratch.push(b'"');
        }
    }

    /// One sample line from the rendered labels, an optional `le`, a value and (OpenMetrics
    /// only) an exemplar.
    fn sample(&mut self, name: &str, suffix: &str, le: Option<&str>, value: &[u8], exemplar: Option<&Exemplar>) {
        self.sample_with(name, suffix, le.map(|le| ("le", le)), value, exemplar);
    }

    /// One sample line with an optional extra label (`le`, `quantile`) after the rendered ones.
    fn sample_with(&mut self, name: &str, suffix: &str, extra: Option<(&str, &str)>, value: &[u8], exemplar: Option<&Exemplar>) {
        let out = &mut *self.out;
        let quoted = self.utf8_names && !is_classic_name(name);
        if quoted {
            out.extend_from_slice(b"{\"");
            escape_label_value(name, out);
            out.extend_from_slice(suffix.as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(suffix.as_bytes());
        }
        let has_labels = !self.scratch.is_empty() || extra.is_some();
        if has_labels {
            out.push(if quoted { b',' } else { b'{' });
            out.extend_from_slice(&self.scratch);
            if let Some((label, text)) = extra {
                if !self.scratch.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(label.as_bytes());
                out.extend_from_slice(b"=\"");
                escape_label_value(text, out);
                out.push(b'"');
            }
        }
        if has_labels || quoted {
            out.push(b'}');
        }
        out.push(b' ');
        out.extend_from_slice(value);
        if let Some(exemplar) = exemplar.filter(|_| self.open_metrics) {
            write_exemplar(out, exemplar);
        }
        out.push(b'\n');
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp`: OpenMetrics' exemplar syntax (its label set
/// stays far below the format's 128-character limit).
fn write_exemplar(out: &mut Vec<u8>, exemplar: &Exemplar) {
    out.extend_from_slice(b" # {");
    if exemplar.has_trace() {
        let _ = write!(out, "trace_id=\"{}\",span_id=\"{}\"", exemplar.trace_id_hex(), exemplar.span_id_hex());
    }
    out.extend_from_slice(b"} ");
    out.extend_from_slice(float_bytes(exemplar.value, &mut FloatBuf::default()));
    let (seconds, nanos) = (exemplar.time_unix_nano / 1_000_000_000, exemplar.time_unix_nano % 1_000_000_000);
    let _ = write!(out, " {seconds}.{:03}", nanos / 1_000_000);
}

impl Writer for TextWriter<'_> {
    fn family(&mut self, head: &FamilyHead<'_>) {
        let name = self.family_name(head);
        let utf8 = self.utf8_names;
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        write_name(out, name, utf8);
        out.push(b' ');
        escape_help(head.help, out, self.open_metrics);
        out.extend_from_slice(b"\n# TYPE ");
        write_name(out, name, utf8);
        let kind = if self.open_metrics && head.kind == Kind::Info { "info" } else { head.kind.text() };
        let _ = writeln!(out, " {kind}");
        // OpenMetrics: a unit is declared only when the family name ends in it.
        if let Some(unit) = head.declared_unit(name).filter(|_| self.open_metrics) {
            out.extend_from_slice(b"# UNIT ");
            write_name(out, name, utf8);
            let _ = writeln!(out, " {unit}");
        }
    }

    fn number(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, value: Number, exemplar: Option<&Exemplar>) {
        self.render_labels(labels);
        let name = self.family_name(head);
        let suffix = match head.kind {
            Kind::Counter if self.open_metrics => "_total",
            Kind::Info if self.open_metrics => "_info",
            _ => "",
        };
        let mut text = [0u8; 32];
        let value = number_text(value, &mut text);
        self.sample(name, suffix, None, value, exemplar);
    }

    fn histogram(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &HistogramPoint<'_>) {
        self.render_labels(labels);
        let mut cumulative = 0u64;
        let mut digits = itoa::Buffer::new();
        let exemplar = |i: usize| point.exemplars.get(i).and_then(Option::as_ref);
        for (i, (le, count)) in point.le.iter().zip(point.counts).enumerate() {
            cumulative += count;
            self.sample(head.name, "_bucket", Some(le), digits.format(cumulative).as_bytes(), exemplar(i));
        }
        let mut count_text = [0u8; 32];
        let count = copy_into(&mut count_text, digits.format(point.count).as_bytes());
        self.sample(head.name, "_bucket", Some("+Inf"), count, exemplar(point.le.len()));
        // OpenMetrics: a histogram with negative observations or buckets has no `_sum` (it would
        // not be a counter), and then no `_count` either (one is there exactly when the other is);
        // the `+Inf` bucket still carries the count.
        if !(self.open_metrics && point.negative) {
            self.sample(head.name, "_sum", None, float_bytes(point.sum, &mut FloatBuf::default()), None);
            self.sample(head.name, "_count", None, count, None);
        }
    }

    fn summary(&mut self, head: &FamilyHead<'_>, labels: &Labels<'_>, point: &SummaryPoint<'_>) {
        self.render_labels(labels);
        for (quantile, value) in point.quantiles {
            self.sample_with(head.name, "", Some(("quantile", quantile)), float_bytes(*value, &mut FloatBuf::default()), None);
        }
        self.sample(head.name, "_sum", None, float_bytes(point.sum, &mut FloatBuf::default()), None);
        self.sample(head.name, "_count", None, itoa::Buffer::new().format(point.count).as_bytes(), None);
    }

    fn finish(&mut self) {
        if self.open_metrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
    }
}

fn number_text(value: Number, buf: &mut [u8; 32]) -> &[u8] {
    match value {
        Number::U64(v) => copy_into(buf, itoa::Buffer::new().format(v).as_bytes()),
        Number::I64(v) => copy_into(buf, itoa::Buffer::new().format(v).as_bytes()),
        Number::F64(v) => {
            let mut text = FloatBuf::default();
            copy_into(buf, float_bytes(v, &mut text))
        }
    }
}

fn copy_into<'b>(buf: &'b mut [u8; 32], text: &[u8]) -> &'b [u8] {
    let n = text.len().min(buf.len());
    buf[..n].copy_from_slice(&text[..n]);
    &buf[..n]
}

fn write_name(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 && !is_classic_name(name) {
        out.push(b'"');
        escape_label_value(name, out);
        out.push(b'"');
    } else {
        out.extend_from_slice(name.as_bytes());
    }
}
