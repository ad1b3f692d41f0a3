//! Cases, results, and their markdown / JSON forms.

use std::time::{Duration, Instant};

/// One measured case: a value per implementation, in one unit.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) unit: &'static str,
    pub(crate) results: Vec<(&'static str, f64)>,
}

#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) cases: Vec<Case>,
}

impl Report {
    pub(crate) fn add(&mut self, name: impl Into<String>, unit: &'static str, results: Vec<(&'static str, f64)>) {
        self.cases.push(Case { name: name.into(), unit, results });
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = String::from("| case | unit | implementation | value | vs otel-pipeline |\n|---|---|---|---:|---:|\n");
        for case in &self.cases {
            let ours = case.results.iter().find(|(n, _)| *n == "otel-pipeline").map(|(_, v)| *v);
            for (implementation, value) in &case.results {
                let ratio = match ours {
                    Some(o) if o > 0.0 => format!("{:.2}×", value / o),
                    _ => String::from("–"),
                };
                out.push_str(&format!("| {} | {} | {implementation} | {} | {ratio} |\n", case.name, case.unit, pretty(*value)));
            }
        }
        out
    }

    pub(crate) fn json(&self) -> String {
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| {
                let results: serde_json::Map<String, serde_json::Value> =
                    c.results.iter().map(|(n, v)| ((*n).to_owned(), serde_json::json!(v))).collect();
                serde_json::json!({ "name": c.name, "unit": c.unit, "results": results })
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({ "cases": cases })).unwrap_or_default()
    }
}

fn pretty(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Measures several implementations of one case with interleaved rounds (A B C, A B C, ...),
/// so drift on a busy machine affects each alike; returns each one's median round time.
/// A named implementation of one measured step.
pub(crate) type Contender<'f> = (&'static str, Box<dyn FnMut() + 'f>);

pub(crate) fn interleaved(warmup: usize, rounds: usize, contenders: &mut [Contender<'_>]) -> Vec<(&'static str, Duration)> {
    for (_, run) in contenders.iter_mut() {
        for _ in 0..warmup {
            run();
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); contenders.len()];
    for _ in 0..rounds.max(1) {
        for (i, (_, run)) in contenders.iter_mut().enumerate() {
            let started = Instant::now();
            run();
            times[i].push(started.elapsed());
        }
    }
    contenders
        .iter()
        .zip(times)
        .map(|((name, _), mut t)| {
            t.sort();
            (*name, t[t.len() / 2])
        })
        .collect()
}
