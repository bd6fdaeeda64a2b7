//! The mel filterbank whisper.cpp expects inside a ggml model file.
//!
//! OpenAI's Whisper ships its filters as `librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)`
//! (Slaney mel scale, Slaney area normalisation). CTranslate2 models do not carry them, so the
//! importer recomputes them here, replicating librosa's arithmetic step by step (float64 math,
//! the same float32 rounding points) so the result matches the published filters bit for bit.

/// Sample rate Whisper models are trained on.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT window length Whisper uses (25 ms at 16 kHz).
pub const N_FFT: usize = 400;
/// Number of FFT bins from DC to Nyquist: `1 + N_FFT / 2`.
pub const N_FREQS: usize = 1 + N_FFT / 2;

/// Slaney scale: linear below 1 kHz with 200/3 Hz per mel...
const F_SP: f64 = 200.0 / 3.0;
/// ...and logarithmic above it.
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

/// Log step of the upper, logarithmic part of the Slaney scale (`ln(6.4) / 27`).
fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz → mel on the Slaney scale (librosa `hz_to_mel(htk=False)`).
fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

/// Mel → Hz on the Slaney scale (librosa `mel_to_hz(htk=False)`).
fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `n` band edges evenly spaced in mel between `fmin` and `fmax`, in Hz.
///
/// Mirrors `numpy.linspace` exactly (`i * step + start`, last point pinned to `stop`) because
/// the filters are sensitive to the last ulp of these edges.
fn mel_band_edges(n: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    let (start, stop) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let step = (stop - start) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            let mel = if i == n - 1 {
                stop
            } else {
                i as f64 * step + start
            };
            mel_to_hz(mel)
        })
        .collect()
}

/// Centre frequency of each FFT bin, as `numpy.fft.rfftfreq(n_fft, 1 / sr)` computes it.
fn fft_bin_frequencies(sample_rate: u32, n_fft: usize) -> Vec<f64> {
    let spacing = 1.0 / (n_fft as f64 * (1.0 / f64::from(sample_rate)));
    (0..1 + n_fft / 2).map(|k| k as f64 * spacing).collect()
}

/// Whisper's mel filterbank: `n_mels` rows × [`N_FREQS`] columns, row-major.
///
/// 80 mels for every model up to large-v2, 128 for large-v3.
pub fn whisper_mel_filters(n_mels: usize) -> Vec<f32> {
    mel_filters(
        SAMPLE_RATE,
        N_FFT,
        n_mels,
        0.0,
        f64::from(SAMPLE_RATE) / 2.0,
    )
}

/// Slaney-normalised triangular mel filters, equal to
/// `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney")`.
///
/// Row-major, `n_mels` rows of `1 + n_fft / 2` bins.
pub fn mel_filters(
    sample_rate: u32,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Vec<f32> {
    let freqs = fft_bin_frequencies(sample_rate, n_fft);
    let edges = mel_band_edges(n_mels + 2, fmin, fmax);
    let mut weights = Vec::with_capacity(n_mels * freqs.len());
    for i in 0..n_mels {
        let (lo, centre, hi) = (edges[i], edges[i + 1], edges[i + 2]);
        // librosa stores the unnormalised triangle into a float32 array first, then scales it
        // by the float64 Slaney factor: two roundings, reproduced here.
        let enorm = 2.0 / (hi - lo);
        weights.extend(freqs.iter().map(|&f| {
            let rising = -(lo - f) / (centre - lo);
            let falling = (hi - f) / (hi - centre);
            // numpy's `maximum(0, minimum(lower, upper))`: on ties both return their second
            // argument, which makes entry [0][0] -0.0 exactly as in librosa's output.
            let lower = if rising < falling { rising } else { falling };
            let triangle = if 0.0 > lower { 0.0 } else { lower as f32 };
            (f64::from(triangle) * enorm) as f32
        }));
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values produced with librosa 0.11.0 / numpy 2.4.6:
    /// `m = librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)`;
    /// row sums are `m.astype(np.float64).sum(axis=1)[row]`.
    /// Each entry: (n_mels, row, column, value); values are the float32 entries printed exactly
    /// as float64 (`repr(float(m[row, col]))`).
    const ENTRIES: &[(usize, usize, usize, f64)] = &[
        (80, 0, 1, 0.02486259490251541),
        (80, 0, 2, 0.0),
        (80, 1, 1, 0.001990821911022067),
        (80, 1, 2, 0.022871771827340126),
        (80, 10, 10, 0.01990821771323681),
        (80, 10, 11, 0.004954374860972166),
        (80, 40, 42, 0.005411104764789343),
        (80, 40, 43, 0.014735566452145576),
        (80, 40, 44, 0.006518189795315266),
        (80, 79, 186, 0.000366741674952209),
        (80, 79, 188, 0.0012993983691558242),
        (80, 79, 190, 0.0022320549469441175),
        (80, 79, 200, 0.0),
        (128, 0, 1, 0.012373986653983593),
        (128, 1, 1, 0.030392564833164215),
        (128, 10, 6, 0.011289183981716633),
        (128, 10, 7, 0.0010848019737750292),
        (128, 64, 42, 0.0067496825940907),
        (128, 64, 43, 0.018091518431901932),
        (128, 127, 191, 0.0004756950947921723),
        (128, 127, 193, 0.002758648479357362),
    ];

    /// (n_mels, row, sum of the row in float64), same provenance as [`ENTRIES`].
    const ROW_SUMS: &[(usize, usize, f64)] = &[
        (80, 0, 0.02486259490251541),
        (80, 1, 0.024862593738362193),
        (80, 10, 0.024862592574208975),
        (80, 40, 0.026664861012250185),
        (80, 79, 0.024925339792389423),
        (128, 0, 0.012373986653983593),
        (128, 1, 0.030392564833164215),
        (128, 10, 0.012373985955491662),
        (128, 64, 0.024841201025992632),
        (128, 127, 0.024936043977504596),
    ];

    /// Nonzero entry counts from the same librosa run (`(m != 0).sum()`).
    const NONZERO: &[(usize, usize)] = &[(80, 391), (128, 394)];

    /// 64-bit FNV-1a of librosa's whole filter matrix as little-endian float32 bytes, computed
    /// in Python over `m.astype('<f4').tobytes()` (same librosa run as above). The arithmetic is
    /// replicated exactly, so every bit must match, down to the -0.0 at [0][0].
    const FNV1A: &[(usize, u64)] = &[(80, 0x173a_8442_ad00_0426), (128, 0x4319_6325_f8f5_1341)];

    fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
        bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }

    #[test]
    fn mel_filters_are_bit_identical_to_librosa() {
        for &(n_mels, expected) in FNV1A {
            let hash = fnv1a(
                whisper_mel_filters(n_mels)
                    .iter()
                    .flat_map(|w| w.to_le_bytes()),
            );
            assert_eq!(hash, expected, "n_mels={n_mels}: {hash:#x}");
        }
    }

    #[test]
    fn mel_filters_have_whisper_shape() {
        assert_eq!(whisper_mel_filters(80).len(), 80 * 201);
        assert_eq!(whisper_mel_filters(128).len(), 128 * 201);
    }

    #[test]
    fn mel_filter_entries_match_librosa() {
        for &(n_mels, row, col, expected) in ENTRIES {
            let got = f64::from(whisper_mel_filters(n_mels)[row * N_FREQS + col]);
            // Identical arithmetic gives identical bits; allow one float32 ulp for libm drift.
            let tolerance = expected.abs() * f64::from(f32::EPSILON);
            assert!(
                (got - expected).abs() <= tolerance,
                "n_mels={n_mels} [{row},{col}]: got {got:e}, librosa {expected:e}"
            );
        }
    }

    #[test]
    fn mel_filter_row_sums_match_librosa() {
        for &(n_mels, row, expected) in ROW_SUMS {
            let filters = whisper_mel_filters(n_mels);
            let sum: f64 = filters[row * N_FREQS..(row + 1) * N_FREQS]
                .iter()
                .map(|&w| f64::from(w))
                .sum();
            assert!(
                (sum - expected).abs() < 1e-9,
                "n_mels={n_mels} row {row}: {sum} vs {expected}"
            );
        }
    }

    #[test]
    fn mel_filter_sparsity_matches_librosa() {
        for &(n_mels, expected) in NONZERO {
            let nonzero = whisper_mel_filters(n_mels)
                .iter()
                .filter(|&&w| w != 0.0)
                .count();
            assert_eq!(nonzero, expected, "n_mels={n_mels}");
        }
    }
}
