//! The benchmark report: figures made of rows, each row a measurement of ours, of a baseline
//! measured in the same run, and their ratio; printed as a table and written as JSON.
//!
//! These machines are noisy (2 shared cores), so a row carries the median with its min–max and
//! the number of samples, never a single reading, and comparisons are ratios, not absolutes.

use serde_json::{Value, json};

/// Median, min and max of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

impl Summary {
    /// `None` for no samples; NaNs are dropped (a failed run is not a zero).
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        Some(Self { median, min: sorted[0], max: sorted[n - 1], samples: n })
    }

    /// A single reading (a deterministic size, or one aggregate of a load run).
    pub fn single(value: f64) -> Self {
        Self { median: value, min: value, max: value, samples: 1 }
    }

    /// The `p`-th percentile (0–100, nearest rank) of the samples as a single reading that
    /// still says how many samples it came from; `None` for no samples. NaNs are dropped.
    pub fn percentile(samples: &[f64], p: f64) -> Option<Self> {
        let value = percentile(samples, p)?;
        let samples = samples.iter().filter(|v| !v.is_nan()).count();
        Some(Self { median: value, min: value, max: value, samples })
    }

    fn to_json(self) -> Value {
        json!({ "median": self.median, "min": self.min, "max": self.max, "samples": self.samples })
    }

    fn display(self, unit: &str) -> String {
        if self.samples <= 1 || self.min == self.max {
            format_value(self.median, unit)
        } else {
            format!(
                "{} [{}–{}]",
                format_value(self.median, unit),
                format_number(self.min, unit),
                format_number(self.max, unit)
            )
        }
    }
}

/// The `p`-th percentile (0–100) by nearest rank: the smallest sample with at least p % of the
/// samples at or below it. NaNs are dropped.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Pairs the i-th run of ours with the i-th run of the baseline (they ran back to back), so the
/// ratio's spread shows how noisy the comparison itself was.
pub fn paired_ratios(ours: &[f64], baseline: &[f64]) -> Vec<f64> {
    ours.iter().zip(baseline).filter(|(_, b)| **b > 0.0).map(|(o, b)| o / b).collect()
}

fn format_number(value: f64, unit: &str) -> String {
    match unit {
        "B" => format!("{:.1}", value / 1000.0),
        _ if value.abs() >= 100.0 => format!("{value:.0}"),
        _ if value.abs() >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "B" => format!("{:.1} KB", value / 1000.0),
        "×" => format!("{}×", format_number(value, unit)),
        "" => format_number(value, unit),
        _ => format!("{} {unit}", format_number(value, unit)),
    }
}

/// One line of a figure.
#[derive(Debug, Clone)]
pub struct Row {
    pub metric: String,
    pub unit: String,
    pub ours: Option<Summary>,
    pub baseline: Option<Summary>,
    /// ours / baseline; `None` where the figure has no baseline (an absolute capacity).
    pub ratio: Option<Summary>,
    pub baseline_name: Option<String>,
}

impl Row {
    pub fn new(metric: impl Into<String>, unit: impl Into<String>, ours: Option<Summary>) -> Self {
        Self {
            metric: metric.into(),
            unit: unit.into(),
            ours,
            baseline: None,
            ratio: None,
            baseline_name: None,
        }
    }

    /// Adds the baseline and the ratio of ours to it (computed pairwise when samples pair up,
    /// else from the medians).
    pub fn against(mut self, name: impl Into<String>, ours: &[f64], baseline: &[f64]) -> Self {
        self.baseline = Summary::of(baseline);
        self.baseline_name = Some(name.into());
        self.ratio = if ours.len() == baseline.len() {
            Summary::of(&paired_ratios(ours, baseline))
        } else {
            match (self.ours, self.baseline) {
                (Some(o), Some(b)) if b.median > 0.0 => Some(Summary::single(o.median / b.median)),
                _ => None,
            }
        };
        self
    }

    /// Adds a baseline that is already summarised; the ratio is of the two medians (for
    /// figures whose samples do not pair up run by run, e.g. percentiles over many calls).
    pub fn against_summary(mut self, name: impl Into<String>, baseline: Option<Summary>) -> Self {
        self.baseline = baseline;
        self.baseline_name = Some(name.into());
        self.ratio = match (self.ours, baseline) {
            (Some(o), Some(b)) if b.median > 0.0 => Some(Summary::single(o.median / b.median)),
            _ => None,
        };
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "metric": self.metric,
            "unit": self.unit,
            "ours": self.ours.map(Summary::to_json),
            "baseline": self.baseline.map(Summary::to_json),
            "baseline_name": self.baseline_name,
            "ratio": self.ratio.map(Summary::to_json),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Measured,
    /// Tried and failed; the note says why.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Failed => "failed",
        }
    }
}

/// One numbered figure of issue 10.
#[derive(Debug, Clone)]
pub struct Figure {
    pub number: u8,
    pub title: String,
    pub status: Status,
    /// What exactly was measured, or why nothing was.
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
    /// Figure-specific detail (raw samples, contributor lists) for the JSON only.
    pub details: Value,
    pub seconds: f64,
}

impl Figure {
    pub fn new(number: u8, title: &str) -> Self {
        Self {
            number,
            title: title.to_owned(),
            status: Status::Measured,
            notes: Vec::new(),
            rows: Vec::new(),
            details: Value::Null,
            seconds: 0.0,
        }
    }

    pub fn failed(number: u8, title: &str, error: &anyhow::Error) -> Self {
        let mut figure = Self::new(number, title);
        figure.status = Status::Failed;
        figure.notes.push(format!("{error:#}"));
        figure
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    pub fn to_json(&self) -> Value {
        json!({
            "number": self.number,
            "title": self.title,
            "status": self.status.as_str(),
            "notes": self.notes,
            "rows": self.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
            "details": self.details,
            "seconds": self.seconds,
        })
    }
}

/// The table printed at the end of `cargo xtask bench` (and pasted into docs/benchmarks.md).
pub fn table(figures: &[Figure]) -> String {
    let mut lines = vec![
        "| # | figure | metric | ours (median [min–max]) | baseline | ratio |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    for figure in figures {
        if figure.rows.is_empty() {
            let why = figure.notes.first().map(String::as_str).unwrap_or("");
            lines.push(format!(
                "| {} | {} | {} | {} | | |",
                figure.number,
                figure.title,
                figure.status.as_str(),
                why.replace('|', "/")
            ));
            continue;
        }
        for (i, row) in figure.rows.iter().enumerate() {
            let (number, title) =
                if i == 0 { (figure.number.to_string(), figure.title.as_str()) } else { (String::new(), "") };
            let baseline = match (&row.baseline_name, row.baseline) {
                (Some(name), Some(b)) => format!("{name}: {}", b.display(&row.unit)),
                (Some(name), None) => format!("{name}: –"),
                _ => String::new(),
            };
            lines.push(format!(
                "| {number} | {title} | {} | {} | {baseline} | {} |",
                row.metric,
                row.ours.map_or("–".to_owned(), |s| s.display(&row.unit)),
                row.ratio.map_or(String::new(), |s| s.display("×")),
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.samples), (2.5, 1.0, 4.0, 4));
    }

    #[test]
    fn failed_samples_are_dropped_not_counted_as_zero() {
        let s = Summary::of(&[f64::NAN, 5.0, 7.0, 6.0]).unwrap();
        assert_eq!((s.median, s.samples), (6.0, 3));
        assert!(Summary::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn percentile_is_by_nearest_rank_and_counts_its_samples() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(10.0));
        assert_eq!(percentile(&samples, 95.0), Some(19.0));
        assert_eq!(percentile(&samples, 100.0), Some(20.0));
        assert_eq!(percentile(&[f64::NAN, 3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(Summary::percentile(&samples, 95.0).unwrap().samples, 20);
    }

    #[test]
    fn a_row_against_a_summary_reports_the_ratio_of_medians() {
        let row = Row::new("p95", "ms", Some(Summary::single(30.0)))
            .against_summary("plain JS", Some(Summary::single(10.0)));
        assert_eq!(row.ratio.unwrap().median, 3.0);
        let none = Row::new("p95", "ms", Some(Summary::single(30.0)))
            .against_summary("plain JS", Some(Summary::single(0.0)));
        assert!(none.ratio.is_none());
    }

    #[test]
    fn ratios_pair_runs_in_order_and_skip_zero_baselines() {
        assert_eq!(paired_ratios(&[2.0, 9.0, 4.0], &[1.0, 0.0, 2.0]), vec![2.0, 2.0]);
    }

    #[test]
    fn a_row_against_a_baseline_reports_the_pairwise_ratio_spread() {
        let row = Row::new("ready", "ms", Summary::of(&[20.0, 30.0, 40.0])).against(
            "plain JS",
            &[20.0, 30.0, 40.0],
            &[10.0, 10.0, 10.0],
        );
        let ratio = row.ratio.unwrap();
        assert_eq!((ratio.median, ratio.min, ratio.max), (3.0, 2.0, 4.0));
        let table = table(&[Figure { rows: vec![row], ..Figure::new(2, "Ready") }]);
        assert!(
            table.contains(
                "| 2 | Ready | ready | 30.0 ms [20.0–40.0] | plain JS: 10.0 ms | 3.00× [2.00–4.00] |"
            ),
            "{table}"
        );
    }
}
