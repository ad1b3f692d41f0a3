//! Runs naming vectors in the conformance TSV format (`kind`, `input_name`, `unit`,
//! `metric_type`, `expected_output`; `\t`, `\n`, `\\` escapes in fields) against the translator.

use super::naming::{unit_name, LabelNamer, MetricNamer, MetricType, TranslationStrategy};

/// One vector that did not produce what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line number in the file.
    pub line: usize,
    /// The row as read.
    pub row: String,
    /// What the translator produced (`ERROR: ...` for a rejection).
    pub got: String,
}

/// The outcome of a vector file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Rows that matched.
    pub passed: usize,
    /// Rows that did not (including rows that could not be understood).
    pub failures: Vec<Failure>,
}

/// Checks every row of a vector file's contents (the first line is the header).
pub fn check(tsv: &str) -> Report {
    let mut report = Report::default();
    for (index, line) in tsv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let outcome = match fields.as_slice() {
            [kind, name, unit, metric_type, expected] => run(kind, name, unit, metric_type).map(|got| (got, expected.clone())),
            _ => Err(format!("expected 5 tab-separated fields, found {}", fields.len())),
        };
        let got = match outcome {
            Ok((got, expected)) if got == expected => {
                report.passed += 1;
                continue;
            }
            Ok((got, _)) | Err(got) => got,
        };
        report.failures.push(Failure { line: index + 1, row: line.to_owned(), got });
    }
    report
}

/// The translator's answer for one row: the name, or `ERROR` when it rejects the input.
/// `Err` means the row itself is not understood.
fn run(kind: &str, name: &str, unit: &str, metric_type: &str) -> Result<String, String> {
    let answer = |r: Result<String, _>| r.unwrap_or_else(|_| "ERROR".to_owned());
    let (family, variant) = kind.split_once('/').ok_or_else(|| format!("kind {kind:?} has no `/`"))?;
    match family {
        "metric_name" => {
            let (strategy, namespace) = match variant.split_once(";ns=") {
                Some((s, ns)) => (s, ns.to_owned()),
                None => (variant, String::new()),
            };
            let namer = MetricNamer { namespace, strategy: parse_strategy(strategy)?, ..MetricNamer::default() };
            Ok(answer(namer.build(name, unit, parse_type(metric_type)?)))
        }
        "unit_name" => match variant {
            "escaped" => Ok(unit_name(unit, false)),
            "utf8" => Ok(unit_name(unit, true)),
            other => Err(format!("unknown unit_name variant {other:?}")),
        },
        "label_name" => {
            let mut namer = LabelNamer::default();
            for option in variant.split('+') {
                match option {
                    "default" => {}
                    "UTF8Allowed" => namer.utf8_allowed = true,
                    "PreserveMultipleUnderscores" => namer.preserve_multiple_underscores = true,
                    "UnderscoreLabelSanitization" => namer.underscore_label_sanitization = true,
                    other => return Err(format!("unknown label option {other:?}")),
                }
            }
            Ok(answer(namer.build(name)))
        }
        other => Err(format!("unknown kind {other:?}")),
    }
}

fn parse_strategy(s: &str) -> Result<TranslationStrategy, String> {
    Ok(match s {
        "UnderscoreEscapingWithSuffixes" => TranslationStrategy::UnderscoreEscapingWithSuffixes,
        "UnderscoreEscapingWithoutSuffixes" => TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        "NoUTF8EscapingWithSuffixes" => TranslationStrategy::NoUTF8EscapingWithSuffixes,
        "NoTranslation" => TranslationStrategy::NoTranslation,
        other => return Err(format!("unknown strategy {other:?}")),
    })
}

fn parse_type(s: &str) -> Result<MetricType, String> {
    Ok(match s {
        "gauge" => MetricType::Gauge,
        "monotonic_counter" => MetricType::MonotonicCounter,
        "non_monotonic_counter" => MetricType::NonMonotonicCounter,
        "histogram" => MetricType::Histogram,
        "exponential_histogram" => MetricType::ExponentialHistogram,
        "summary" => MetricType::Summary,
        "unknown" | "" => MetricType::Unknown,
        other => return Err(format!("unknown metric type {other:?}")),
    })
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pass_fail_and_reject_malformed_lines() {
        let tsv = "kind\tinput_name\tunit\tmetric_type\texpected_output\n\
                   metric_name/UnderscoreEscapingWithSuffixes\tsystem.io\tBy\tmonotonic_counter\tsystem_io_bytes_total\n\
                   metric_name/UnderscoreEscapingWithSuffixes\tsystem.io\tBy\tgauge\twrong\n\
                   label_name/default\t__\t\t\tERROR\n\
                   only\ttwo\n";
        let report = check(tsv);
        assert_eq!(report.passed, 2);
        assert_eq!(report.failures.len(), 2);
        assert_eq!(report.failures[0].got, "system_io_bytes");
        assert!(report.failures[1].got.contains("5 tab-separated"));
    }
}
