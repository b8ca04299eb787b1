//! Grey-scale display math (Modality LUT, VOI window or LUT, automatic window, MONOCHROME1)
//! and colour models (palette, YCbCr), all pure functions on plain slices.

use super::RenderError;

/// A lookup table: `data[clamp(x - first)]`, `bits` significant bits per entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lut {
    pub first: i64,
    pub bits: u16,
    pub data: Vec<u16>,
}

impl Lut {
    pub fn lookup(&self, x: f64) -> u16 {
        let last = self.data.len().saturating_sub(1) as f64;
        let i = (x.round() - self.first as f64).clamp(0.0, last) as usize;
        self.data.get(i).copied().unwrap_or(0)
    }

    /// The largest value the entries can hold: the descriptor's bits, unless the data shows the
    /// descriptor overstates them (16-bit descriptors over 8-bit data are common).
    pub fn max_value(&self) -> f64 {
        let declared = ((1u32 << self.bits.min(16)) - 1) as f64;
        let actual = self.data.iter().copied().max().unwrap_or(0) as f64;
        if self.bits == 16 && actual <= 255.0 {
            255.0
        } else {
            declared
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Palette {
    pub r: Lut,
    pub g: Lut,
    pub b: Lut,
}

impl Palette {
    /// 8-bit RGB for one stored value.
    #[cfg(test)]
    pub fn rgb(&self, x: f64) -> [u8; 3] {
        self.to_8bit().rgb(x)
    }

    /// The palette scaled to 8 bits once, for drawing many pixels.
    pub fn to_8bit(&self) -> Palette8 {
        let one = |l: &Lut| {
            let max = l.max_value();
            l.data
                .iter()
                .map(|&v| (v as f64 * 255.0 / max).round().clamp(0.0, 255.0) as u8)
                .collect()
        };
        Palette8 {
            first: [self.r.first, self.g.first, self.b.first],
            tables: [one(&self.r), one(&self.g), one(&self.b)],
        }
    }
}

pub(crate) struct Palette8 {
    first: [i64; 3],
    tables: [Vec<u8>; 3],
}

impl Palette8 {
    pub fn rgb(&self, x: f64) -> [u8; 3] {
        let mut out = [0u8; 3];
        for ((o, t), first) in out.iter_mut().zip(&self.tables).zip(self.first) {
            let last = t.len().saturating_sub(1) as f64;
            let i = (x.round() - first as f64).clamp(0.0, last) as usize;
            *o = t.get(i).copied().unwrap_or(0);
        }
        out
    }
}

/// Expand segmented palette data (PS3.3 C.7.9.2): discrete, linear and indirect segments.
/// `word_bits` is 8 when the data is bytes (8-bit entries), else 16.
pub(crate) fn expand_segmented(
    seg: &[u16],
    entries: usize,
    word_bits: u32,
) -> Result<Vec<u16>, RenderError> {
    let mut out: Vec<u16> = Vec::with_capacity(entries.min(65536));
    // Indirect segments walk earlier ones again, and empty segments emit nothing: without a
    // bound on the segments walked, 1 MB of them took minutes. Every segment of a sane table
    // is walked once or emits an entry.
    let mut walk = seg.len() + entries;
    expand_segments(
        seg,
        0,
        usize::MAX,
        word_bits,
        &mut out,
        entries,
        0,
        &mut walk,
    )?;
    out.truncate(entries);
    if out.is_empty() {
        return Err(RenderError::Corrupt(
            "segmented palette has no entries".into(),
        ));
    }
    // short tables are padded with their last entry so every index maps somewhere
    let last = out.last().copied().unwrap_or(0);
    out.resize(entries, last);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn expand_segments(
    seg: &[u16],
    mut pos: usize,
    max_segments: usize,
    word_bits: u32,
    out: &mut Vec<u16>,
    entries: usize,
    depth: u32,
    walk: &mut usize,
) -> Result<(), RenderError> {
    let bad = |what: &str| RenderError::Corrupt(format!("segmented palette: {what}"));
    let mut done = 0usize;
    while pos < seg.len() && done < max_segments && out.len() < entries {
        *walk = walk
            .checked_sub(1)
            .ok_or_else(|| bad("too many segments"))?;
        let op = seg[pos];
        let n = *seg.get(pos + 1).ok_or_else(|| bad("segment cut short"))? as usize;
        match op {
            0 => {
                let vals = seg
                    .get(pos + 2..pos + 2 + n)
                    .ok_or_else(|| bad("discrete segment cut short"))?;
                out.extend_from_slice(vals);
                pos += 2 + n;
            }
            1 => {
                let y0 = *out
                    .last()
                    .ok_or_else(|| bad("linear segment with no start value"))?
                    as f64;
                let y1 =
                    *seg.get(pos + 2)
                        .ok_or_else(|| bad("linear segment cut short"))? as f64;
                for i in 1..=n {
                    if out.len() >= entries {
                        break;
                    }
                    out.push((y0 + (y1 - y0) * i as f64 / n as f64).round() as u16);
                }
                pos += 3;
            }
            2 => {
                if depth > 0 {
                    return Err(bad("indirect segment inside an indirect segment"));
                }
                let lo = *seg
                    .get(pos + 2)
                    .ok_or_else(|| bad("indirect segment cut short"))?
                    as usize;
                let hi = *seg
                    .get(pos + 3)
                    .ok_or_else(|| bad("indirect segment cut short"))?
                    as usize;
                let offset = lo | (hi << word_bits);
                expand_segments(seg, offset, n, word_bits, out, entries, depth + 1, walk)?;
                pos += 4;
            }
            _ => return Err(bad("unknown segment type")),
        }
        done += 1;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiFunction {
    Linear,
    LinearExact,
    Sigmoid,
}

/// PS3.3 C.11.2.1.2: map `x` through the window to 0..=255 (not yet rounded).
pub(crate) fn window(x: f64, c: f64, w: f64, f: VoiFunction) -> f64 {
    const Y: f64 = 255.0;
    match f {
        VoiFunction::Linear => {
            if w <= 1.0 {
                // width 1 is a threshold at the center
                return if x <= c - 0.5 { 0.0 } else { Y };
            }
            let lo = c - 0.5 - (w - 1.0) / 2.0;
            let hi = c - 0.5 + (w - 1.0) / 2.0;
            if x <= lo {
                0.0
            } else if x > hi {
                Y
            } else {
                ((x - (c - 0.5)) / (w - 1.0) + 0.5) * Y
            }
        }
        VoiFunction::LinearExact => {
            if x <= c - w / 2.0 {
                0.0
            } else if x > c + w / 2.0 {
                Y
            } else {
                ((x - c) / w + 0.5) * Y
            }
        }
        VoiFunction::Sigmoid => Y / (1.0 + (-4.0 * (x - c) / w).exp()),
    }
}

/// A window chosen from the image itself: the 1st and 99th percentiles of the values that are
/// not padding (and, on CT, not air outside the body), as a LINEAR window (center, width) that
/// maps the low percentile to black and the high one to white.
pub(crate) fn auto_window(values: &[f32], keep: impl Fn(usize, f32) -> bool) -> (f64, f64) {
    const MAX_SAMPLES: usize = 1 << 18;
    let stride = (values.len() / MAX_SAMPLES).max(1);
    let mut picked: Vec<f32> = values
        .iter()
        .enumerate()
        .step_by(stride)
        .filter(|&(i, &v)| v.is_finite() && keep(i, v))
        .map(|(_, &v)| v)
        .collect();
    if picked.is_empty() {
        picked = values
            .iter()
            .step_by(stride)
            .copied()
            .filter(|v| v.is_finite())
            .collect();
    }
    if picked.is_empty() {
        return (0.5, 1.0);
    }
    let (lo, hi) = percentiles(&mut picked, 0.01, 0.99);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let min = picked.iter().copied().fold(f32::INFINITY, f32::min);
        let max = picked.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (min, max)
    };
    let (lo, hi) = (lo as f64, hi as f64);
    if hi > lo {
        ((lo + hi) / 2.0 + 0.5, hi - lo + 1.0)
    } else {
        // a flat image: mid grey
        (lo + 0.5, 1.0)
    }
}

/// Nearest-rank percentiles, without sorting everything.
pub(crate) fn percentiles(v: &mut [f32], p_lo: f64, p_hi: f64) -> (f32, f32) {
    let n = v.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let rank = |p: f64| ((p * (n - 1) as f64).round() as usize).min(n - 1);
    let (i_lo, i_hi) = (rank(p_lo), rank(p_hi));
    let cmp = |a: &f32, b: &f32| a.total_cmp(b);
    let hi = *v.select_nth_unstable_by(i_hi, cmp).1;
    let lo = *v[..=i_hi].select_nth_unstable_by(i_lo, cmp).1;
    (lo, hi)
}

/// Full-range YCbCr (YBR_FULL, PS3.3 C.7.6.3.1.2) to RGB, 8-bit.
pub(crate) fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (y as f32, cb as f32 - 128.0, cr as f32 - 128.0);
    let r = y + 1.402 * cr;
    let g = y - 0.344_136 * cb - 0.714_136 * cr;
    let b = y + 1.772 * cb;
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [c(r), c(g), c(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_matches_the_standard_formula() {
        // C.11.2.1.2.1 example: c=2048, w=4096 → x<=0 black, x>4095 white
        assert_eq!(window(0.0, 2048.0, 4096.0, VoiFunction::Linear), 0.0);
        assert_eq!(window(4096.0, 2048.0, 4096.0, VoiFunction::Linear), 255.0);
        let mid = window(2047.5, 2048.0, 4096.0, VoiFunction::Linear);
        assert!((mid - 127.5).abs() < 1e-9, "{mid}");
        // MR_small's window 600/1600: 600 is half way up
        let y = window(600.0, 600.0, 1600.0, VoiFunction::Linear);
        assert!((y - 127.5 - 255.0 * 0.5 / 1599.0).abs() < 1e-9, "{y}");
        assert_eq!(window(-200.0, 600.0, 1600.0, VoiFunction::Linear), 0.0);
        assert_eq!(window(1400.0, 600.0, 1600.0, VoiFunction::Linear), 255.0);
    }

    #[test]
    fn linear_exact_and_sigmoid() {
        assert_eq!(
            window(40.0 - 200.0, 40.0, 400.0, VoiFunction::LinearExact),
            0.0
        );
        assert_eq!(window(40.0, 40.0, 400.0, VoiFunction::LinearExact), 127.5);
        assert_eq!(window(240.1, 40.0, 400.0, VoiFunction::LinearExact), 255.0);
        assert!((window(40.0, 40.0, 400.0, VoiFunction::Sigmoid) - 127.5).abs() < 1e-9);
        let s = window(240.0, 40.0, 400.0, VoiFunction::Sigmoid);
        // 255 / (1 + e^-2)
        assert!((s - 255.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-9, "{s}");
    }

    #[test]
    fn auto_window_ignores_padding_and_outliers() {
        // CT-like: half the pixels are padding at -2000, the rest spread over -100..=100,
        // plus one hot pixel
        let mut v: Vec<f32> = (0..1000)
            .map(|i| {
                if i % 2 == 0 {
                    -2000.0
                } else {
                    (i % 201) as f32 - 100.0
                }
            })
            .collect();
        v[1] = 30000.0;
        let (c, w) = auto_window(&v, |_, x| x > -900.0);
        let lo = c - 0.5 - (w - 1.0) / 2.0;
        let hi = c - 0.5 + (w - 1.0) / 2.0;
        assert!((-100.0..=-95.0).contains(&lo), "lo {lo}");
        assert!((95.0..=100.0).contains(&hi), "hi {hi}");
        // plain min/max would have been -2000..30000
        let all = auto_window(&v, |_, _| true);
        assert!(all.1 > w);
    }

    #[test]
    fn auto_window_flat_image_does_not_divide_by_zero() {
        let v = vec![7.0f32; 100];
        let (c, w) = auto_window(&v, |_, _| true);
        assert!(w >= 1.0 && c.is_finite());
    }

    #[test]
    fn segmented_palette_expands_discrete_linear_and_indirect() {
        // discrete [0, 10], linear to 50 over 4 entries, then copy the first segment again
        let seg = [0u16, 2, 0, 10, 1, 4, 50, 2, 1, 0, 0];
        let out = expand_segmented(&seg, 10, 16).unwrap();
        assert_eq!(out, vec![0, 10, 20, 30, 40, 50, 0, 10, 10, 10]);
    }

    #[test]
    fn segmented_palette_rejects_garbage_without_panicking() {
        assert!(expand_segmented(&[1, 5, 100], 16, 16).is_err()); // linear with no start
        assert!(expand_segmented(&[7, 1, 1], 16, 16).is_err());
        assert!(expand_segmented(&[0, 60000], 16, 16).is_err());
        assert!(expand_segmented(&[2, 1, 0, 0], 16, 16).is_err()); // indirect pointing at itself
        // empty segments walked again and again by indirect ones
        let mut seg = vec![0u16; 2 * 1000];
        for _ in 0..1000 {
            seg.extend_from_slice(&[2, 1000, 0, 0]);
        }
        assert!(expand_segmented(&seg, 256, 16).is_err());
    }

    #[test]
    fn palette_lookup_clamps_and_scales() {
        let lut = |d: Vec<u16>| Lut {
            first: 10,
            bits: 16,
            data: d,
        };
        let p = Palette {
            r: lut(vec![0, 65535, 32768]),
            g: lut(vec![65535, 0, 0]),
            b: lut(vec![0, 0, 65535]),
        };
        assert_eq!(p.rgb(10.0), [0, 255, 0]);
        assert_eq!(p.rgb(11.0), [255, 0, 0]);
        assert_eq!(p.rgb(12.0), [128, 0, 255]);
        assert_eq!(p.rgb(0.0), [0, 255, 0]); // below the first mapped value
        assert_eq!(p.rgb(99.0), [128, 0, 255]); // past the end
        // a "16-bit" table whose entries are all below 256 is really 8-bit
        let p8 = Palette {
            r: lut(vec![0, 255]),
            g: lut(vec![0, 128]),
            b: lut(vec![0, 0]),
        };
        assert_eq!(p8.rgb(11.0), [255, 128, 0]);
    }

    #[test]
    fn ybr_full_to_rgb() {
        assert_eq!(ybr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ybr_to_rgb(255, 128, 128), [255, 255, 255]);
        // pure red in full-range YCbCr: Y=76, Cb=85, Cr=255
        let [r, g, b] = ybr_to_rgb(76, 85, 255);
        assert!(r >= 253 && g <= 2 && b <= 2, "{r} {g} {b}");
        // pure blue: Y=29, Cb=255, Cr=107
        let [r, g, b] = ybr_to_rgb(29, 255, 107);
        assert!(r <= 2 && g <= 2 && b >= 253, "{r} {g} {b}");
    }

    #[test]
    fn percentile_ranks() {
        let mut v: Vec<f32> = (0..101).rev().map(|x| x as f32).collect();
        assert_eq!(percentiles(&mut v, 0.01, 0.99), (1.0, 99.0));
    }
}
