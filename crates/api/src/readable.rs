//! Numbers for people: the one place that says how a time, a weight or a size is shown.
//!
//! Times are shown in s, ms, µs or ns with three significant digits (`412 µs`, never `0.000`),
//! sizes in B/kB/MB/GB, counts (samples) as integers. The exact value stays in the JSON and
//! goes in tooltips ([`exact`]). The app's tables, detail panel and profiles page use these;
//! `app/js/charts.js` (`fmt`) follows the same rules for the charts' tooltips, and a browser
//! test checks that a chart's tooltip and the table say the same.

/// Exact powers of ten (every one up to 10^22 is a double), so that the charts' JavaScript,
/// which keeps the same table, rounds to the same digits.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// `x` rounded to three significant digits, halves away from zero.
pub fn round3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let a = x.abs();
    let e = a.log10().floor() as i32 - 2;
    let Some(&p) = POW10.get(e.unsigned_abs() as usize) else {
        return x;
    };
    // Scale by an exact power of ten either way, so that 0.000412 stays 412e-6 after rounding.
    let r = if e >= 0 { (a / p).round() * p } else { (a * p).round() / p };
    r.copysign(x)
}

/// Three significant digits, without an exponent: `1.23`, `45.6`, `789`, `12300`. The value is
/// rounded first, so the formatter never meets a tie.
pub fn sig3(x: f64) -> String {
    let r = round3(x);
    let a = r.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{r:.0}")
    } else if a >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// Seconds per unit, for the units that are times.
fn seconds_per(unit: &str) -> Option<f64> {
    match unit {
        "seconds" => Some(1.0),
        "milliseconds" => Some(1e-3),
        "microseconds" => Some(1e-6),
        "nanoseconds" => Some(1e-9),
        _ => None,
    }
}

/// A value in a profile's unit, for reading: times in s/ms/µs/ns with three significant digits
/// (the largest unit in which the rounded value is at least 1), bytes in B/kB/MB/GB, any other
/// unit (samples) as an integer when whole, else with two decimals.
pub fn value(v: f64, unit: &str) -> String {
    if let Some(scale) = seconds_per(unit) {
        let s = v * scale;
        let a = round3(s).abs();
        return if a == 0.0 {
            "0 s".to_owned()
        } else if a >= 1.0 {
            format!("{} s", sig3(s))
        } else if a >= 1e-3 {
            format!("{} ms", sig3(s * 1e3))
        } else if a >= 1e-6 {
            format!("{} µs", sig3(s * 1e6))
        } else {
            format!("{} ns", sig3(s * 1e9))
        };
    }
    if unit == "bytes" {
        let a = round3(v).abs();
        return match a {
            a if a >= 1e9 => format!("{} GB", sig3(v / 1e9)),
            a if a >= 1e6 => format!("{} MB", sig3(v / 1e6)),
            a if a >= 1e3 => format!("{} kB", sig3(v / 1e3)),
            _ => format!("{v:.0} B"),
        };
    }
    count(v)
}

/// A count or weight without a time or size unit: an integer when whole, else two decimals.
pub fn count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// The short symbol of a unit (`s`, `µs`, `B`), or the unit's own name (`samples`).
pub fn symbol(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "µs",
        "nanoseconds" => "ns",
        "bytes" => "B",
        other => other,
    }
}

/// The exact value with its unit, for a tooltip: `0.000412345 s`, `30437088 µs`, `713 samples`.
pub fn exact(v: f64, unit: &str) -> String {
    format!("{v} {}", symbol(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses what `value` printed back into the base unit (seconds or bytes).
    fn parse(text: &str) -> (f64, &str) {
        let (num, unit) = text.split_once(' ').unwrap();
        let x: f64 = num.parse().unwrap();
        match unit {
            "s" => (x, "s"),
            "ms" => (x * 1e-3, "s"),
            "µs" => (x * 1e-6, "s"),
            "ns" => (x * 1e-9, "s"),
            "B" => (x, "B"),
            "kB" => (x * 1e3, "B"),
            "MB" => (x * 1e6, "B"),
            "GB" => (x * 1e9, "B"),
            other => panic!("unit {other}"),
        }
    }

    /// The digits shown, without sign, point and leading zeros.
    fn digits(text: &str) -> usize {
        let num = text.split(' ').next().unwrap();
        num.chars().filter(char::is_ascii_digit).collect::<String>().trim_start_matches('0').len()
    }

    #[test]
    fn times_read_back_within_half_a_unit_of_the_third_digit_and_never_as_zero() {
        // A spread of magnitudes from 1 ns to 10^5 s, with awkward mantissas (999.5, 1.0049…).
        let mut x = 1.0e-9_f64;
        let mut checked = 0;
        while x < 1e5 {
            for m in [1.0, 1.0049, 2.5, 4.125, 9.995, 99.95, 999.5] {
                let v = x * m;
                for (unit, scale) in [("seconds", 1.0), ("microseconds", 1e6), ("nanoseconds", 1e9), ("milliseconds", 1e3)] {
                    let text = value(v * scale, unit);
                    let (back, base) = parse(&text);
                    assert_eq!(base, "s", "{text}");
                    assert!(back > 0.0, "{v} s shown as {text}");
                    // Three significant digits: the error is at most half a unit of the third digit.
                    assert!((back - v).abs() <= 0.5e-2 * v * 1.0000001 + 1e-21, "{v} s shown as {text}");
                    let (n, u) = text.split_once(' ').unwrap();
                    let n: f64 = n.parse().unwrap();
                    // The largest unit in which the number is at least 1, so never `0.412 ms` or `1000 ms`.
                    assert!(n >= 1.0, "{v} s shown as {text}");
                    assert!(u == "s" || n < 1000.0, "{v} s shown as {text}");
                    if n < 1000.0 {
                        assert_eq!(digits(&text).max(3), 3, "{v} s shown as {text}");
                    }
                    checked += 1;
                }
            }
            x *= 10.0;
        }
        assert!(checked >= 300, "{checked}");
    }

    #[test]
    fn sub_millisecond_times_use_the_small_units() {
        // The cases the issue names: pstats' `0.000` and austin's totals in µs.
        let t = 0.000_412_345;
        let text = value(t, "seconds");
        assert!(text.ends_with(" µs"), "{text}");
        assert_eq!(parse(&text).0, round3(t));
        let total_us = 30_437_088.0;
        let text = value(total_us, "microseconds");
        assert!(text.ends_with(" s"), "{text}");
        assert_eq!(parse(&text).0, round3(total_us * 1e-6));
        assert_eq!(value(0.0, "seconds"), "0 s");
        assert!(value(-0.0025, "seconds").starts_with('-'));
    }

    #[test]
    fn sizes_and_counts() {
        for v in [1.0, 999.0, 1_000.0, 12_345.0, 999_600.0, 4.5e6, 7.25e9] {
            let text = value(v, "bytes");
            let (back, base) = parse(&text);
            assert_eq!(base, "B");
            assert!((back - v).abs() <= 0.005 * v, "{v} B shown as {text}");
        }
        assert_eq!(count(713.0), 713.to_string());
        assert_eq!(value(713.0, "samples"), 713.to_string());
        assert_eq!(value(2.5, "samples"), format!("{:.2}", 2.5));
    }

    #[test]
    fn exact_keeps_every_digit() {
        let v = 0.000_412_345_678_9;
        let text = exact(v, "seconds");
        assert_eq!(text.strip_suffix(" s").unwrap().parse::<f64>().unwrap(), v);
        assert!(exact(30_437_088.0, "microseconds").ends_with(" µs"));
        assert!(exact(713.0, "samples").ends_with(" samples"));
    }

    #[test]
    fn round3_rounds_to_three_significant_digits() {
        for (v, want) in [(0.000412345, 0.000412), (1234.5, 1230.0), (999.6, 1000.0), (-0.012345, -0.0123), (200.5, 201.0), (-200.5, -201.0)] {
            assert!((round3(v) - want).abs() <= want.abs() * 1e-12, "{v} → {}", round3(v));
        }
    }
}
