//! OTel name, unit and attribute key → Prometheus name, following Prometheus' own OTLP
//! translator (`otlptranslator`) rule for rule, so a series is named the same whether it is
//! scraped from us or pushed to Prometheus over OTLP.

use std::fmt;

use super::format::is_classic_name;

/// How OTel names become Prometheus names (the four strategies of the OTel Prometheus exporter
/// specification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TranslationStrategy {
    /// Escape to `[a-zA-Z0-9_:]` and add unit and type suffixes (the default, classic Prometheus).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escape to `[a-zA-Z0-9_:]`, no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Keep UTF-8 names, add suffixes.
    NoUTF8EscapingWithSuffixes,
    /// Keep names exactly as recorded.
    NoTranslation,
}

impl TranslationStrategy {
    /// Whether names are escaped to the classic character set.
    pub fn escapes(self) -> bool {
        matches!(self, Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes)
    }

    /// Whether unit and type suffixes are added.
    pub fn adds_suffixes(self) -> bool {
        matches!(self, Self::UnderscoreEscapingWithSuffixes | Self::NoUTF8EscapingWithSuffixes)
    }
}

/// The OTel point kind of a metric, which decides its type suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricType {
    /// A gauge.
    Gauge,
    /// A monotonic sum (a Prometheus counter): gets `_total`.
    MonotonicCounter,
    /// A non-monotonic sum (exposed as a gauge).
    NonMonotonicCounter,
    /// An explicit-bucket histogram.
    Histogram,
    /// A base-2 exponential histogram.
    ExponentialHistogram,
    /// A summary.
    Summary,
    /// Anything else.
    Unknown,
}

/// A name that cannot be expressed in Prometheus (empty, or nothing but underscores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingError {
    input: String,
    what: &'static str,
}

impl fmt::Display for NamingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} has no valid Prometheus form (it is empty or only underscores after escaping); \
             rename it to contain a letter or digit",
            self.what, self.input
        )
    }
}

impl std::error::Error for NamingError {}

/// How a scraper wants names outside `[a-zA-Z0-9_:]` written (`escaping=` in its `Accept`
/// header, as the Prometheus exposition formats define it). Names already in that set are
/// never changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Escaping {
    /// `allow-utf-8`: names as they are (quoted where the format needs it).
    AllowUtf8,
    /// `underscores` (the default): the strategy's underscore-escaping counterpart.
    #[default]
    Underscores,
    /// `dots`: `.` → `_dot_`, `_` → `__`, anything else outside the set → `__`.
    Dots,
    /// `values`: `U__` then `_` → `__`, anything else outside the set → `_<hex code point>_`.
    Values,
}

impl Escaping {
    /// The scheme an `escaping=` parameter names; unknown values are `None`.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "allow-utf-8" => Escaping::AllowUtf8,
            "underscores" => Escaping::Underscores,
            "dots" => Escaping::Dots,
            "values" => Escaping::Values,
            _ => return None,
        })
    }

    /// `name` escaped by this scheme (unchanged when it is already a classic name).
    pub fn apply(self, name: &str) -> String {
        if is_classic_name(name) {
            return name.to_owned();
        }
        let mut out = String::with_capacity(name.len() + 8);
        match self {
            Escaping::AllowUtf8 => return name.to_owned(),
            Escaping::Underscores => {
                out.extend(name.chars().enumerate().map(|(i, c)| if is_classic_char(c, i) { c } else { '_' }));
            }
            Escaping::Dots => {
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => out.push_str("__"),
                        '.' => out.push_str("_dot_"),
                        c if is_classic_char(c, i) => out.push(c),
                        _ => out.push_str("__"),
                    }
                }
            }
            Escaping::Values => {
                out.push_str("U__");
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => out.push_str("__"),
                        c if is_classic_char(c, i) => out.push(c),
                        c => out.push_str(&format!("_{:x}_", u32::from(c))),
                    }
                }
            }
        }
        out
    }
}

fn is_classic_char(c: char, position: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (position > 0 && c.is_ascii_digit())
}

/// Builds metric names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricNamer {
    /// Prefix joined with `_`; empty for none.
    pub namespace: String,
    /// The translation strategy.
    pub strategy: TranslationStrategy,
    /// How names the strategy leaves outside the classic set are escaped for the scraper at
    /// hand ([`Escaping::AllowUtf8`] by default: as they are).
    pub escaping: Escaping,
}

impl Default for MetricNamer {
    fn default() -> Self {
        MetricNamer { namespace: String::new(), strategy: TranslationStrategy::default(), escaping: Escaping::AllowUtf8 }
    }
}

impl MetricNamer {
    /// The Prometheus name for an OTel metric.
    pub fn build(&self, name: &str, unit: &str, kind: MetricType) -> Result<String, NamingError> {
        if self.strategy.escapes() {
            self.build_escaped(name, unit, kind)
        } else {
            let built = self.build_utf8(name, unit, kind);
            Ok(if self.escaping == Escaping::AllowUtf8 { built } else { self.escaping.apply(&built) })
        }
    }

    fn build_escaped(&self, name: &str, unit: &str, kind: MetricType) -> Result<String, NamingError> {
        let built = if self.strategy.adds_suffixes() {
            normalize_with_suffixes(name, unit, kind, &self.namespace)
        } else {
            let keep_underscores = |c: char| !is_metric_char(c) && c != '_';
            let metric = join_fields(name, keep_underscores);
            if !self.namespace.is_empty() {
                format!("{}_{}", join_fields(&self.namespace, keep_underscores), metric)
            } else {
                prefix_leading_digit(metric)
            }
        };
        let error = |what| Err(NamingError { input: name.to_owned(), what });
        if built.is_empty() {
            return error("metric name");
        }
        if built != name && only_underscores(&built) {
            return error("metric name");
        }
        Ok(built)
    }

    fn build_utf8(&self, name: &str, unit: &str, kind: MetricType) -> String {
        let mut name = if self.namespace.is_empty() { name.to_owned() } else { format!("{}_{name}", self.namespace) };
        if !self.strategy.adds_suffixes() {
            return name;
        }
        let ratio = unit == "1" && kind == MetricType::Gauge;
        if ratio {
            trim_suffix_and_delimiter(&mut name, "ratio");
        }
        let total = kind == MetricType::MonotonicCounter;
        if total {
            trim_suffix_and_delimiter(&mut name, "total");
        }
        let (main, per) = otel_core::units::suffix_words(unit);
        if !per.is_empty() {
            trim_suffix_and_delimiter(&mut name, &per);
        }
        if !main.is_empty() && !name.ends_with(main.as_str()) {
            name.push('_');
            name.push_str(&main);
        }
        for (on, suffix) in [(!per.is_empty(), per.as_str()), (total, "total"), (ratio, "ratio")] {
            if on {
                name.push('_');
                name.push_str(suffix);
            }
        }
        name
    }
}

/// How attribute keys become label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LabelNamer {
    /// Keep UTF-8 keys as they are (only rejecting empty / all-underscore keys).
    pub utf8_allowed: bool,
    /// Prefix `key` to a label that starts with a single `_` (deprecated upstream option).
    pub underscore_label_sanitization: bool,
    /// Keep runs of `_` instead of collapsing them (discouraged by the OTel spec).
    pub preserve_multiple_underscores: bool,
    /// How UTF-8 label names are escaped for the scraper at hand (see [`MetricNamer::escaping`]).
    pub escaping: Escaping,
}

impl Default for LabelNamer {
    fn default() -> Self {
        LabelNamer {
            utf8_allowed: false,
            underscore_label_sanitization: false,
            preserve_multiple_underscores: false,
            escaping: Escaping::AllowUtf8,
        }
    }
}

impl LabelNamer {
    /// The Prometheus label name for an attribute key.
    pub fn build(&self, key: &str) -> Result<String, NamingError> {
        let error = || NamingError { input: key.to_owned(), what: "attribute key" };
        if key.is_empty() {
            return Err(error());
        }
        if self.utf8_allowed {
            if only_underscores(key) {
                return Err(error());
            }
            return Ok(if self.escaping == Escaping::AllowUtf8 { key.to_owned() } else { self.escaping.apply(key) });
        }
        let mut label = sanitize_label(key, self.preserve_multiple_underscores);
        if label.as_bytes()[0].is_ascii_digit() {
            label.insert_str(0, "key_");
        } else if self.underscore_label_sanitization && label.starts_with('_') && !label.starts_with("__") {
            label.insert_str(0, "key");
        }
        if only_underscores(&label) {
            return Err(error());
        }
        Ok(label)
    }
}

/// The unit word used in `# UNIT` metadata and as the name suffix, e.g. `By/s` →
/// `bytes_per_second`; `utf8_allowed` skips escaping.
pub fn unit_name(unit: &str, utf8_allowed: bool) -> String {
    let (mut main, mut per) = otel_core::units::suffix_words(unit);
    if !utf8_allowed {
        main = clean_up_unit(&main);
        per = clean_up_unit(&per);
    }
    let joined = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    let trimmed = joined.strip_prefix('_').unwrap_or(&joined);
    trimmed.strip_suffix('_').unwrap_or(trimmed).to_owned()
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

fn only_underscores(s: &str) -> bool {
    s.chars().all(|c| c == '_')
}

/// Non-empty runs between separator characters, joined with `_`.
fn join_fields(s: &str, is_separator: impl Fn(char) -> bool) -> String {
    s.split(is_separator).filter(|f| !f.is_empty()).collect::<Vec<_>>().join("_")
}

fn prefix_leading_digit(mut name: String) -> String {
    if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        name.insert(0, '_');
    }
    name
}

fn normalize_with_suffixes(name: &str, unit: &str, kind: MetricType, namespace: &str) -> String {
    let mut tokens: Vec<&str> = name.split(|c| !is_metric_char(c)).filter(|t| !t.is_empty()).collect();
    let (main, per) = otel_core::units::suffix_words(unit);
    let (main, per) = (clean_up_unit(&main), clean_up_unit(&per));
    let (main, per) = unit_tokens(&tokens, &main, &per);
    tokens.extend([main, per].into_iter().filter(|t| !t.is_empty()));
    let mut move_to_end = |word: &'static str| {
        tokens.retain(|t| *t != word);
        tokens.push(word);
    };
    if kind == MetricType::MonotonicCounter {
        move_to_end("total");
    }
    if unit == "1" && kind == MetricType::Gauge {
        move_to_end("ratio");
    }
    if !namespace.is_empty() {
        tokens.insert(0, namespace);
    }
    prefix_leading_digit(tokens.join("_"))
}

/// The unit suffixes not already present among the name's tokens.
fn unit_tokens<'u>(tokens: &[&str], main: &'u str, per: &'u str) -> (&'u str, &'u str) {
    let mut main = if tokens.contains(&main) { "" } else { main };
    let per = if per == "per_" {
        ""
    } else {
        let per = per.strip_suffix('_').unwrap_or(per);
        if tokens.contains(&per) {
            ""
        } else {
            per
        }
    };
    if !per.is_empty() {
        main = main.strip_suffix('_').unwrap_or(main);
    }
    (main, per)
}

/// Escapes a unit word to metric-name characters, collapsing `_` runs and dropping a leading `_`.
fn clean_up_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars().map(|c| if is_metric_char(c) { c } else { '_' }) {
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.strip_prefix('_').map(str::to_owned).unwrap_or(out)
}

fn sanitize_label(key: &str, preserve_multiple_underscores: bool) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric();
    if preserve_multiple_underscores {
        return key.chars().map(|c| if valid(c) { c } else { '_' }).collect();
    }
    // `__name__`-style keys keep their reserved double underscores around a cleaned inside.
    let reserved = key.len() >= 4 && key.starts_with("__") && key.ends_with("__");
    let inner = if reserved { &key[2..key.len() - 2] } else { key };
    let mut out = String::with_capacity(key.len());
    for c in inner.chars() {
        if valid(c) {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    if reserved {
        format!("__{out}__")
    } else {
        out
    }
}

fn trim_suffix_and_delimiter(name: &mut String, suffix: &str) {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        name.truncate(name.len() - suffix.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_name(name: &str, unit: &str, kind: MetricType) -> String {
        MetricNamer::default().build(name, unit, kind).unwrap()
    }

    #[test]
    fn upstream_exporter_bugs_are_not_repeated() {
        assert_eq!(default_name("db.latency_total", "ms", MetricType::MonotonicCounter), "db_latency_milliseconds_total");
        assert_eq!(default_name("tasks.completed_total", "", MetricType::MonotonicCounter), "tasks_completed_total");
        assert_eq!(LabelNamer::default().build("9bad-key").unwrap(), "key_9bad_key");
    }

    #[test]
    fn documented_names_come_out_of_otel_names() {
        assert_eq!(default_name("task.execute.time", "s", MetricType::Histogram), "task_execute_time_seconds");
        assert_eq!(default_name("task.poll", "", MetricType::MonotonicCounter), "task_poll_total");
        assert_eq!(default_name("http.server.request.duration", "s", MetricType::Histogram), "http_server_request_duration_seconds");
    }

    /// prometheus/common's `EscapeName`, case by case.
    #[test]
    fn escaping_schemes() {
        for (name, dots, values, underscores) in [
            ("http.server.duration", "http_dot_server_dot_duration", "U__http_2e_server_2e_duration", "http_server_duration"),
            ("a_b.c", "a__b_dot_c", "U__a__b_2e_c", "a_b_c"),
            ("classic_name", "classic_name", "classic_name", "classic_name"),
            ("ü/x", "____x", "U___fc__2f_x", "__x"),
            ("1st.metric", "__st_dot_metric", "U___31_st_2e_metric", "_st_metric"),
        ] {
            assert_eq!(Escaping::Dots.apply(name), dots, "{name}");
            assert_eq!(Escaping::Values.apply(name), values, "{name}");
            assert_eq!(Escaping::Underscores.apply(name), underscores, "{name}");
            assert_eq!(Escaping::AllowUtf8.apply(name), name);
        }
    }

    #[test]
    fn unit_name_in_metadata() {
        assert_eq!(unit_name(" By / s ", false), "bytes_per_second");
        assert_eq!(unit_name("{custom}", false), "");
        assert_eq!(unit_name("1/s", true), "per_second");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn escaped_names_are_valid_prometheus_names(name in "\\PC{0,24}", unit in "\\PC{0,8}") {
                for kind in [MetricType::Gauge, MetricType::MonotonicCounter, MetricType::Histogram] {
                    for strategy in [TranslationStrategy::UnderscoreEscapingWithSuffixes, TranslationStrategy::UnderscoreEscapingWithoutSuffixes] {
                        if let Ok(n) = (MetricNamer { strategy, ..MetricNamer::default() }).build(&name, &unit, kind) {
                            prop_assert!(!n.is_empty());
                            prop_assert!(!n.as_bytes()[0].is_ascii_digit(), "{}", n);
                            prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "{}", n);
                        }
                    }
                }
            }

            #[test]
            fn escaped_labels_are_valid_label_names(key in "\\PC{0,24}") {
                if let Ok(l) = LabelNamer::default().build(&key) {
                    prop_assert!(!l.as_bytes()[0].is_ascii_digit());
                    prop_assert!(l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{}", l);
                    prop_assert!(!l.chars().all(|c| c == '_'));
                }
            }

            #[test]
            fn counters_end_in_exactly_one_total(name in "[a-z._]{1,20}") {
                if let Ok(n) = MetricNamer::default().build(&name, "", MetricType::MonotonicCounter) {
                    prop_assert!(n.ends_with("_total") || n == "total");
                    let head = n.strip_suffix("total").unwrap_or(&n);
                    prop_assert!(!head.split('_').any(|t| t == "total"), "{}", n);
                }
            }
        }
    }
}
