//! Numbers for reading, by the rules of `profview_api::readable` (times in s, ms or µs with
//! three significant digits, never `0.000`; weights in the profile's unit; sizes in kB/MB/GB).
//! The exact value goes in the tooltip ([`exact`]) and stays in the JSON.

use profview_api::readable;

/// Seconds for reading: `412 µs`, `3.20 ms`, `14.9 s` (empty for `None`).
pub fn secs(v: Option<f64>) -> String {
    amount(v, "seconds")
}

/// A weight in the profile's unit for reading (empty for `None`).
pub fn amount(v: Option<f64>, unit: &str) -> String {
    v.map(|x| readable::value(x, unit)).unwrap_or_default()
}

/// The exact value with its unit, for a tooltip (empty for `None`).
pub fn exact(v: Option<f64>, unit: &str) -> String {
    v.map(|x| readable::exact(x, unit)).unwrap_or_default()
}

/// A weight without a unit (samples): an integer when whole.
pub fn weight(v: Option<f64>) -> String {
    v.map(readable::count).unwrap_or_default()
}

/// `nc/cc` when they differ, as pstats prints ncalls.
pub fn ncalls(nc: Option<u64>, cc: Option<u64>) -> String {
    match (nc, cc) {
        (Some(n), Some(c)) if n != c => format!("{n}/{c}"),
        (Some(n), _) => n.to_string(),
        _ => String::new(),
    }
}

/// `a / b` when both exist and b > 0.
pub fn ratio(a: Option<f64>, b: Option<u64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0 => Some(a / b as f64),
        _ => None,
    }
}

/// A file path shortened for a narrow column: the part after `site-packages/` or
/// `lib/pythonX.Y/`, else the last three components. The full path goes in the tooltip.
pub fn short_path(file: &str) -> String {
    for marker in ["site-packages/", "dist-packages/"] {
        if let Some(i) = file.rfind(marker) {
            return file[i + marker.len()..].to_owned();
        }
    }
    if let Some(i) = file.find("/lib/python") {
        let rest = &file[i + "/lib/python".len()..];
        if let Some(j) = rest.find('/') {
            return rest[j + 1..].to_owned();
        }
    }
    let parts: Vec<&str> = file.split('/').collect();
    if parts.len() > 3 {
        format!("…/{}", parts[parts.len() - 3..].join("/"))
    } else {
        file.to_owned()
    }
}

/// A value in a profile's unit for reading (see `profview_api::readable::value`).
pub fn value(v: f64, unit: &str) -> String {
    readable::value(v, unit)
}
