//! Number formatting as pstats prints it.

/// Seconds with three decimals, like `print_stats`.
pub fn secs(v: Option<f64>) -> String {
    match v {
        Some(x) => format!("{x:.3}"),
        None => String::new(),
    }
}

/// A weight (samples, µs, bytes): integers without decimals.
pub fn weight(v: Option<f64>) -> String {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        Some(x) => format!("{x:.2}"),
        None => String::new(),
    }
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
