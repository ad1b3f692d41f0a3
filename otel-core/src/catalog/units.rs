//! UCUM units as the words Prometheus' OTLP translator puts into metric names: one table, used
//! by the Prometheus exporter and by the facade's quantile timers (whose `_count` and `_sum`
//! gauges must line up with the timer's translated name).

/// The words a UCUM unit adds to a Prometheus metric name: the main unit's (`s` → `seconds`)
/// and, after a `/`, `per_<unit>` (`By/s` → `bytes`, `per_second`). Annotations (`{...}`),
/// blanks and `1` give nothing; unknown units stay as they are.
///
/// ```
/// assert_eq!(otel_core::units::suffix_words("By/s"), ("bytes".to_owned(), "per_second".to_owned()));
/// assert_eq!(otel_core::units::suffix_words("{request}"), (String::new(), String::new()));
/// ```
pub fn suffix_words(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let usable = |s: &str| !s.is_empty() && !s.contains(['{', '}']);
    let main = parts.next().map(str::trim).filter(|s| usable(s)).map(|s| main_unit_word(s).to_owned()).unwrap_or_default();
    let per = parts.next().map(str::trim).filter(|s| usable(s)).map(|s| format!("per_{}", per_unit_word(s))).unwrap_or_default();
    (main, per)
}

fn main_unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}
