//! The statistics of comparing: quantiles, the spread of a set, the Mann–Whitney U test, the
//! exact binomial test and the Benjamini–Hochberg correction. Plain `f64` code, no I/O.

use profview_api::Spread;

/// The `q`-quantile (0 ≤ q ≤ 1) of sorted values, interpolating linearly between the closest
/// ranks: numpy's default (`method="linear"`): `h = (n − 1)·q`, `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`.
/// `NaN` for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            if lo + 1 >= n {
                return sorted[n - 1];
            }
            let t = h - lo as f64;
            let (a, b) = (sorted[lo], sorted[lo + 1]);
            // numpy's lerp: from the nearer end, so t = 1 gives b exactly.
            if t >= 0.5 {
                b - (b - a) * (1.0 - t)
            } else {
                a + (b - a) * t
            }
        }
    }
}

/// Min, median, p90, p95, max and mean of the values (any order; sorted in place).
pub fn spread(values: &mut [f64]) -> Spread {
    if values.is_empty() {
        return Spread::default();
    }
    values.sort_by(f64::total_cmp);
    let sum: f64 = values.iter().sum();
    Spread {
        min: values[0],
        median: quantile(values, 0.5),
        p90: quantile(values, 0.9),
        p95: quantile(values, 0.95),
        max: values[values.len() - 1],
        mean: sum / values.len() as f64,
    }
}

/// The complementary error function, to about 1e-13 relative: a continued fraction for large
/// arguments, the Maclaurin series of erf for small ones.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - sum * std::f64::consts::FRAC_2_SQRT_PI;
    }
    if x > 27.0 {
        return 0.0;
    }
    // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated from
    // the tail with enough terms for x ≥ 2.
    let mut f = x;
    for k in (1..=60).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}

/// P(Z ≥ z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The two-sided p-value of the Mann–Whitney U test of `x` against `y`: ranks with ties
/// averaged, the normal approximation with the tie-corrected variance and a continuity
/// correction of ½ (scipy's `mannwhitneyu(method="asymptotic")`). 1 when either sample is empty
/// or every value is tied.
pub fn mann_whitney_p(x: &[f64], y: &[f64]) -> f64 {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg = (i + j + 2) as f64 / 2.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_x += avg * all[i..=j].iter().filter(|e| e.1).count() as f64;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u1 - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients: about 1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

fn ln_binom_pmf(k: u64, n: u64, p: f64) -> f64 {
    let (kf, nf) = (k as f64, n as f64);
    let ln_choose = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0);
    let a = if k == 0 { 0.0 } else { kf * p.ln() };
    let b = if k == n { 0.0 } else { (nf - kf) * (1.0 - p).ln() };
    ln_choose + a + b
}

/// Trials up to which the binomial test sums the exact distribution (above: normal approximation
/// with a continuity correction, whose error there is far below any threshold that matters).
pub const EXACT_BINOMIAL_MAX_N: u64 = 20_000;

/// The two-sided p-value of the binomial test of `k` successes in `n` trials with success
/// probability `p`: the probability of every outcome no more likely than `k` (scipy's
/// `binomtest(...).pvalue`), exact up to [`EXACT_BINOMIAL_MAX_N`] trials.
pub fn binomial_p(k: u64, n: u64, p: f64) -> f64 {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return 1.0;
    }
    if p == 0.0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if p == 1.0 {
        return if k == n { 1.0 } else { 0.0 };
    }
    let k = k.min(n);
    if n > EXACT_BINOMIAL_MAX_N {
        let nf = n as f64;
        let mean = nf * p;
        let sd = (nf * p * (1.0 - p)).sqrt();
        let z = ((k as f64 - mean).abs() - 0.5).max(0.0) / sd;
        return (2.0 * normal_sf(z)).min(1.0);
    }
    let at_k = ln_binom_pmf(k, n, p);
    // Outcomes within this relative tolerance of P(k) count as equally likely (as scipy does).
    let limit = at_k + (1.0 + 1e-7f64).ln();
    let mut total = 0.0;
    for i in 0..=n {
        let l = ln_binom_pmf(i, n, p);
        if l <= limit {
            total += l.exp();
        }
    }
    total.min(1.0)
}

/// Benjamini–Hochberg adjusted p-values (the false discovery rate at which each would be
/// rejected): `q(i) = min over j ≥ i of p(j)·m/j` in ascending order of p, capped at 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let v = p[i] * m as f64 / (rank + 1) as f64;
        running = running.min(v).min(1.0);
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1,2,3,4], [0, .5, .9, .95, 1]) = 1, 2.5, 3.7, 3.85, 4
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!(close(quantile(&v, 0.9), 3.7, 1e-15));
        assert!(close(quantile(&v, 0.95), 3.85, 1e-15));
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&[7.0], 0.3), 7.0);
        assert!(quantile(&[], 0.5).is_nan());
        let mut w = [0.0, 10.0, 0.0, 5.0, 1.0];
        let s = spread(&mut w);
        assert_eq!((s.min, s.median, s.max, s.mean), (0.0, 1.0, 10.0, 3.2));
        // sorted 0 0 1 5 10: h = 3.6 → 5 + .6·5 = 8; h = 3.8 → 5 + .8·5 = 9
        assert!(close(s.p90, 8.0, 1e-15) && close(s.p95, 9.0, 1e-15), "{s:?}");
    }

    #[test]
    fn erfc_and_the_normal_tail() {
        // Reference values: erfc(0.5) = 0.4795001221869535, erfc(1) = 0.15729920705028513,
        // erfc(3) = 2.209049699858544e-05, erfc(6) = 2.1519736712498913e-17.
        assert!(close(erfc(0.5), 0.479_500_122_186_953_5, 1e-13));
        assert!(close(erfc(1.0), 0.157_299_207_050_285_13, 1e-13));
        assert!(close(erfc(3.0), 2.209_049_699_858_544e-5, 1e-12));
        assert!(close(erfc(6.0), 2.151_973_671_249_891_3e-17, 1e-11));
        assert!(close(erfc(-1.0), 2.0 - 0.157_299_207_050_285_13, 1e-14));
        assert_eq!(erfc(0.0), 1.0);
        // Φ(1.959963984540054) = 0.975
        assert!(close(normal_sf(1.959_963_984_540_054), 0.025, 1e-12));
    }

    #[test]
    fn mann_whitney_matches_scipy_asymptotic() {
        // scipy.stats.mannwhitneyu([1,2,3,4,5],[6,7,8,9,10], method="asymptotic").pvalue
        //   = 0.012185780355344813 (scipy 1.x; every reference value here is scipy's or numpy's)
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert!(close(p, 0.012_185_780_355_344_81, 1e-9), "{p}");
        // With ties: x=[1,2,2,3], y=[2,3,3,4,5] → 0.09934224785346528
        let p = mann_whitney_p(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 3.0, 4.0, 5.0]);
        assert!(close(p, 0.099_342_247_853_465_28, 1e-9), "{p}");
        assert_eq!(mann_whitney_p(&[1.0, 1.0], &[1.0, 1.0, 1.0]), 1.0);
        assert_eq!(mann_whitney_p(&[], &[1.0]), 1.0);
        // Symmetric in its arguments.
        assert_eq!(mann_whitney_p(&[3.0, 1.0, 4.0], &[1.5, 9.0, 2.6, 5.0]), mann_whitney_p(&[1.5, 9.0, 2.6, 5.0], &[3.0, 1.0, 4.0]));
    }

    #[test]
    fn ln_gamma_is_log_factorial() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            f *= n as f64;
            assert!(close(ln_gamma(n as f64 + 1.0), f.ln(), 1e-13), "{n}");
        }
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-13));
    }

    #[test]
    fn binomial_matches_scipy() {
        // scipy.stats.binomtest(3, 10, 0.5).pvalue = 0.34375 (exact: 2·176/1024)
        assert!(close(binomial_p(3, 10, 0.5), 0.343_75, 1e-12));
        // binomtest(7, 20, 0.3).pvalue = 0.6294979666766769
        assert!(close(binomial_p(7, 20, 0.3), 0.629_497_966_676_676_9, 1e-10), "{}", binomial_p(7, 20, 0.3));
        // binomtest(60, 100, 0.5).pvalue = 0.056887933640980784
        assert!(close(binomial_p(60, 100, 0.5), 0.056_887_933_640_980_784, 1e-10));
        assert_eq!(binomial_p(5, 10, 0.5), 1.0);
        assert_eq!(binomial_p(0, 0, 0.5), 1.0);
        // The normal approximation above the exact range is close to the exact value.
        let (k, n) = (EXACT_BINOMIAL_MAX_N / 2 + 150, EXACT_BINOMIAL_MAX_N);
        let exact = binomial_p(k, n, 0.5);
        let approx = binomial_p(2 * k, 2 * n, 0.5);
        assert!(exact > 0.0 && approx < exact, "{exact} {approx}");
    }

    #[test]
    fn benjamini_hochberg_adjusts_in_rank_order() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH") = 0.02 0.04 0.04 0.02
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, b) in q.iter().zip(want) {
            assert!(close(*a, b, 1e-12), "{q:?}");
        }
        assert_eq!(benjamini_hochberg(&[0.9, 0.8]), vec![0.9, 0.9]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
