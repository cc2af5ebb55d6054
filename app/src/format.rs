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

/// Three significant digits, without a trailing exponent (`1.23`, `45.6`, `789`).
fn sig3(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A value in a profile's unit for reading: times in s, ms or µs with three significant digits,
/// weights as integers when whole, bytes in kB/MB/GB.
pub fn value(v: f64, unit: &str) -> String {
    let secs = match unit {
        "seconds" => Some(v),
        "microseconds" => Some(v / 1e6),
        "nanoseconds" => Some(v / 1e9),
        _ => None,
    };
    if let Some(s) = secs {
        let a = s.abs();
        return if a == 0.0 {
            "0 s".to_owned()
        } else if a >= 1.0 {
            format!("{} s", sig3(s))
        } else if a >= 1e-3 {
            format!("{} ms", sig3(s * 1e3))
        } else {
            format!("{} µs", sig3(s * 1e6))
        };
    }
    if unit == "bytes" {
        let a = v.abs();
        return match a {
            a if a >= 1e9 => format!("{} GB", sig3(v / 1e9)),
            a if a >= 1e6 => format!("{} MB", sig3(v / 1e6)),
            a if a >= 1e3 => format!("{} kB", sig3(v / 1e3)),
            _ => format!("{v:.0} B"),
        };
    }
    weight(Some(v))
}
