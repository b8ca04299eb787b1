//! A small JPEG-LS decoder (ITU-T T.87 / ISO 14495-1): lossless and near-lossless, 2–16 bit
//! samples, 1 or 3 components, interleave modes none, line and sample, preset parameters (LSE
//! id 1). Mapping tables (palettised JPEG-LS), restart markers and colour transforms are refused.
//! Written here because the pure-Rust crates either take single components only or bring a
//! large dependency tree, and `charls` needs cmake.

use super::RenderError;

pub(crate) struct JlsImage {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    /// Interleaved samples, `components` per pixel.
    pub samples: Vec<u16>,
}

fn bad(what: &str) -> RenderError {
    RenderError::Corrupt(format!("JPEG-LS: {what}"))
}

#[derive(Clone, Copy)]
struct Params {
    maxval: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
}

struct Frame {
    width: u32,
    height: u32,
    precision: u8,
    ids: Vec<u8>,
}

/// Decode a JPEG-LS stream whose frame has at most `max_pixels` pixels (checked before the
/// output is sized).
pub(crate) fn decode(data: &[u8], max_pixels: u64) -> Result<JlsImage, RenderError> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("no start of image marker"));
    }
    let mut pos = 2usize;
    let mut frame: Option<Frame> = None;
    let mut preset: Option<(i32, i32, i32, i32, i32)> = None;
    let mut out: Vec<u16> = Vec::new();
    // Each component is decoded by one scan: a stream that scans one again and again would
    // decode the whole frame each time (600 KB took 44 s).
    let mut scanned: Vec<bool> = Vec::new();
    loop {
        // find the next marker
        while pos < data.len() && data[pos] != 0xFF {
            pos += 1;
        }
        while pos + 1 < data.len() && data[pos + 1] == 0xFF {
            pos += 1;
        }
        if pos + 1 >= data.len() {
            break;
        }
        let marker = data[pos + 1];
        pos += 2;
        if marker == 0xD9 {
            break;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue;
        }
        let len = be16(data, pos)? as usize;
        if len < 2 {
            return Err(bad("segment length"));
        }
        let seg = data
            .get(pos + 2..pos + len)
            .ok_or_else(|| bad("segment cut short"))?;
        pos += len;
        match marker {
            0xF7 => {
                // SOF55
                if frame.is_some() {
                    return Err(bad("a second frame header"));
                }
                if seg.len() < 6 {
                    return Err(bad("frame header"));
                }
                let precision = seg[0];
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let nc = seg[5] as usize;
                if !(2..=16).contains(&precision)
                    || width == 0
                    || height == 0
                    || !(1..=4).contains(&nc)
                {
                    return Err(bad("unsupported frame header values"));
                }
                if u64::from(width) * u64::from(height) > max_pixels {
                    return Err(RenderError::TooLarge("JPEG-LS frame".into()));
                }
                let ids = (0..nc)
                    .map(|i| {
                        seg.get(6 + 3 * i)
                            .copied()
                            .ok_or_else(|| bad("frame header"))
                    })
                    .collect::<Result<_, _>>()?;
                out = vec![0u16; width as usize * height as usize * nc];
                scanned = vec![false; nc];
                frame = Some(Frame {
                    width,
                    height,
                    precision,
                    ids,
                });
            }
            0xF8 => {
                // LSE
                match seg.first() {
                    Some(1) if seg.len() >= 11 => {
                        let r = |i: usize| i32::from(u16::from_be_bytes([seg[i], seg[i + 1]]));
                        preset = Some((r(1), r(3), r(5), r(7), r(9)));
                    }
                    _ => {
                        return Err(RenderError::Unsupported(
                            "JPEG-LS mapping tables or extended presets".into(),
                        ));
                    }
                }
            }
            0xDD => return Err(RenderError::Unsupported("JPEG-LS restart intervals".into())),
            0xDA => {
                let f = frame
                    .as_ref()
                    .ok_or_else(|| bad("scan before frame header"))?;
                let ns = *seg.first().ok_or_else(|| bad("scan header"))? as usize;
                if ns == 0 || seg.len() < 1 + 2 * ns + 3 {
                    return Err(bad("scan header"));
                }
                let comps: Vec<usize> = (0..ns)
                    .map(|i| {
                        f.ids
                            .iter()
                            .position(|&id| id == seg[1 + 2 * i])
                            .ok_or_else(|| bad("scan names an unknown component"))
                    })
                    .collect::<Result<_, _>>()?;
                for &c in &comps {
                    match scanned.get_mut(c) {
                        Some(done) if !*done => *done = true,
                        _ => return Err(bad("a component scanned twice")),
                    }
                }
                let near = i32::from(seg[1 + 2 * ns]);
                let ilv = seg[2 + 2 * ns];
                let point_transform = seg[3 + 2 * ns] & 0x0F;
                if point_transform != 0 {
                    return Err(RenderError::Unsupported("JPEG-LS point transform".into()));
                }
                if ilv > 2 || (ilv == 0 && ns != 1) || (ilv != 0 && ns < 2) {
                    return Err(bad("interleave mode"));
                }
                if ilv == 2 && ns != 3 {
                    return Err(RenderError::Unsupported(
                        "JPEG-LS sample interleave without 3 components".into(),
                    ));
                }
                let params = derive_params(f.precision, near, preset)?;
                let end = scan_end(data, pos);
                let scan = &data[pos..end];
                let nc = f.ids.len();
                let mut dec = ScanDecoder::new(scan, params, near, f.width as usize);
                match ilv {
                    // One component (ilv 0 has exactly one) is line interleave of one.
                    0 | 1 => dec.decode_lines(&mut out, nc, &comps, f.height as usize)?,
                    _ => dec.decode_sample_interleaved(&mut out, nc, &comps, f.height as usize)?,
                }
                pos = end;
            }
            _ => {} // APPn, COM, etc.
        }
    }
    let f = frame.ok_or_else(|| bad("no frame header"))?;
    if scanned.contains(&false) {
        return Err(bad("missing scans"));
    }
    Ok(JlsImage {
        width: f.width,
        height: f.height,
        components: f.ids.len() as u8,
        precision: f.precision,
        samples: out,
    })
}

fn be16(data: &[u8], pos: usize) -> Result<u16, RenderError> {
    data.get(pos..pos + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("cut short"))
}

/// The end of entropy-coded data: the first 0xFF followed by a byte with its high bit set.
fn scan_end(data: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 1 < data.len() {
        if data[i] == 0xFF && data[i + 1] >= 0x80 {
            return i;
        }
        i += 1;
    }
    data.len()
}

fn derive_params(
    precision: u8,
    near: i32,
    preset: Option<(i32, i32, i32, i32, i32)>,
) -> Result<Params, RenderError> {
    let (pmax, pt1, pt2, pt3, preset_reset) = preset.unwrap_or((0, 0, 0, 0, 0));
    let maxval = if pmax > 0 {
        pmax
    } else {
        (1i32 << precision) - 1
    };
    if near < 0 || near > (maxval / 2).min(255) {
        return Err(bad("NEAR out of range"));
    }
    let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
    let (d1, d2, d3) = if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        // T.87 C.2.4.1.1: FACTOR * (BASIC_T1 - 2) + 2 + 3 * NEAR with BASIC_T1 = 3
        let t1 = clamp(factor + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * (7 - 3) + 3 + 5 * near, t1);
        let t3 = clamp(factor * (21 - 4) + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    };
    let t1 = if pt1 > 0 { pt1 } else { d1 };
    let t2 = if pt2 > 0 { pt2 } else { d2 };
    let t3 = if pt3 > 0 { pt3 } else { d3 };
    let reset = if preset_reset > 0 { preset_reset } else { 64 };
    if !(t1 <= t2 && t2 <= t3) || reset < 3 {
        return Err(bad("preset thresholds"));
    }
    Ok(Params {
        maxval,
        t1,
        t2,
        t3,
        reset,
    })
}

const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

// A sums error magnitudes over up to RESET samples (RESET may be 65535): i64, as i32 could
// overflow even on a conforming 16-bit stream.
#[derive(Clone, Copy)]
struct Ctx {
    a: i64,
    b: i32,
    c: i32,
    n: i32,
}

#[derive(Clone, Copy)]
struct RunCtx {
    a: i64,
    n: i32,
    nn: i32,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    prev_ff: bool,
    padded: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            acc: 0,
            n: 0,
            prev_ff: false,
            padded: 0,
        }
    }

    fn fill(&mut self) -> Result<(), RenderError> {
        while self.n <= 56 {
            if let Some(&b) = self.data.get(self.pos) {
                self.pos += 1;
                if self.prev_ff {
                    // a stuffed zero bit follows every 0xFF
                    self.acc = (self.acc << 7) | u64::from(b & 0x7F);
                    self.n += 7;
                } else {
                    self.acc = (self.acc << 8) | u64::from(b);
                    self.n += 8;
                }
                self.prev_ff = b == 0xFF;
            } else {
                self.padded += 1;
                if self.padded > 64 {
                    return Err(bad("entropy-coded data ends early"));
                }
                self.acc <<= 8;
                self.n += 8;
            }
        }
        Ok(())
    }

    fn bits(&mut self, k: u32) -> Result<i32, RenderError> {
        if k == 0 {
            return Ok(0);
        }
        if self.n < k {
            self.fill()?;
        }
        self.n -= k;
        Ok(((self.acc >> self.n) & ((1u64 << k) - 1)) as i32)
    }

    fn bit(&mut self) -> Result<bool, RenderError> {
        Ok(self.bits(1)? == 1)
    }

    /// Count zero bits up to the next one bit (which is consumed).
    fn unary(&mut self, limit: i32) -> Result<i32, RenderError> {
        let mut q = 0;
        while !self.bit()? {
            q += 1;
            if q > limit {
                return Err(bad("Golomb code too long"));
            }
        }
        Ok(q)
    }
}

struct ScanDecoder<'a> {
    bits: Bits<'a>,
    p: Params,
    near: i32,
    range: i32,
    qbpp: u32,
    limit: i32,
    width: usize,
    ctx: Vec<Ctx>,
    run: [RunCtx; 2],
    run_index: Vec<usize>,
}

fn ceil_log2(x: i32) -> u32 {
    let mut k = 0;
    while (1i64 << k) < i64::from(x) {
        k += 1;
    }
    k
}

impl<'a> ScanDecoder<'a> {
    fn new(scan: &'a [u8], p: Params, near: i32, width: usize) -> Self {
        let range = (p.maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = ceil_log2(range);
        let bpp = ceil_log2(p.maxval + 1).max(2) as i32;
        let limit = 2 * (bpp + bpp.max(8));
        let a0 = i64::from(((range + 32) / 64).max(2));
        ScanDecoder {
            bits: Bits::new(scan),
            p,
            near,
            range,
            qbpp,
            limit,
            width,
            ctx: vec![
                Ctx {
                    a: a0,
                    b: 0,
                    c: 0,
                    n: 1
                };
                365
            ],
            run: [RunCtx { a: a0, n: 1, nn: 0 }; 2],
            run_index: vec![0; 4],
        }
    }

    fn quantize(&self, d: i32) -> i32 {
        let (t1, t2, t3, near) = (self.p.t1, self.p.t2, self.p.t3, self.near);
        if d <= -t3 {
            -4
        } else if d <= -t2 {
            -3
        } else if d <= -t1 {
            -2
        } else if d < -near {
            -1
        } else if d <= near {
            0
        } else if d < t1 {
            1
        } else if d < t2 {
            2
        } else if d < t3 {
            3
        } else {
            4
        }
    }

    fn golomb(&mut self, k: u32, limit: i32) -> Result<i32, RenderError> {
        let q = self.bits.unary(limit)?;
        if q >= limit - (self.qbpp as i32 + 1) {
            return Ok(self.bits.bits(self.qbpp)? + 1);
        }
        if k >= 31 {
            return Err(bad("Golomb parameter"));
        }
        let m = (q << k) + self.bits.bits(k)?;
        // A mapped error is at most about RANGE in a conforming stream (escape codes included);
        // crafted codes reach 2^30 and would run the context sums past any integer.
        if m > 2 * self.range {
            return Err(bad("prediction error out of range"));
        }
        Ok(m)
    }

    fn fix(&self, x: i32) -> i32 {
        let m = self.range * (2 * self.near + 1);
        let x = if x < -self.near {
            x + m
        } else if x > self.p.maxval + self.near {
            x - m
        } else {
            x
        };
        x.clamp(0, self.p.maxval)
    }

    fn regular(&mut self, qs: i32, pred: i32) -> Result<i32, RenderError> {
        let sign = if qs < 0 { -1 } else { 1 };
        let ci = qs.unsigned_abs() as usize;
        let c = *self.ctx.get(ci).ok_or_else(|| bad("context"))?;
        let mut k = 0u32;
        while (i64::from(c.n) << k) < c.a && k < 24 {
            k += 1;
        }
        let px = (pred + sign * c.c).clamp(0, self.p.maxval);
        let m = self.golomb(k, self.limit)?;
        let mut e = if m & 1 == 0 { m / 2 } else { -(m + 1) / 2 };
        if k == 0 && self.near == 0 && 2 * c.b + c.n - 1 < 0 {
            e = -e - 1;
        }
        // context update (A.12, A.13)
        let mut a = c.a + i64::from(e.abs());
        let mut b = c.b + e * (2 * self.near + 1);
        let mut n = c.n;
        if n == self.p.reset {
            a >>= 1;
            b >>= 1;
            n >>= 1;
        }
        n += 1;
        let mut cc = c.c;
        if b + n <= 0 {
            b += n;
            if b <= -n {
                b = -n + 1;
            }
            if cc > -128 {
                cc -= 1;
            }
        } else if b > 0 {
            b -= n;
            if b > 0 {
                b = 0;
            }
            if cc < 127 {
                cc += 1;
            }
        }
        self.ctx[ci] = Ctx { a, b, c: cc, n };
        Ok(self.fix(px + sign * e * (2 * self.near + 1)))
    }

    /// Run-interruption sample error (A.7.2).
    fn ri_error(&mut self, ri_type: usize, comp: usize) -> Result<i32, RenderError> {
        let c = self.run[ri_type];
        let temp = if ri_type == 0 {
            c.a
        } else {
            c.a + i64::from(c.n >> 1)
        };
        let mut k = 0u32;
        while (i64::from(c.n) << k) < temp && k < 24 {
            k += 1;
        }
        let j = J[self.run_index[comp]] as i32;
        let em = self.golomb(k, self.limit - j - 1)?;
        let t = em + ri_type as i32;
        let map = t & 1;
        let abs = (t + map) / 2;
        let negative = (k != 0 || 2 * c.nn >= c.n) == (map == 1);
        let e = if negative { -abs } else { abs };
        let mut r = c;
        if e < 0 {
            r.nn += 1;
        }
        r.a += i64::from((em + 1 - ri_type as i32) >> 1);
        if r.n == self.p.reset {
            r.a >>= 1;
            r.n >>= 1;
            r.nn >>= 1;
        }
        r.n += 1;
        self.run[ri_type] = r;
        Ok(e)
    }

    /// Length of a run starting at `x` (A.7.1), at most `width - x`.
    fn run_length(&mut self, x: usize, comp: usize) -> Result<(usize, bool), RenderError> {
        let remaining = self.width - x;
        let mut count = 0usize;
        while self.bits.bit()? {
            let block = 1usize << J[self.run_index[comp]];
            let step = block.min(remaining - count);
            count += step;
            if step == block && self.run_index[comp] < 31 {
                self.run_index[comp] += 1;
            }
            if count == remaining {
                return Ok((count, true));
            }
        }
        let j = J[self.run_index[comp]];
        count += self.bits.bits(j)? as usize;
        if count >= remaining {
            return Err(bad("run longer than the line"));
        }
        Ok((count, false))
    }

    fn end_run(&mut self, comp: usize) {
        self.run_index[comp] = self.run_index[comp].saturating_sub(1);
    }

    /// One line of one component. `prev` and `cur` carry one extra sample at each end:
    /// index 0 is x = -1 and index width + 1 is x = width.
    fn line(&mut self, prev: &[i32], cur: &mut [i32], comp: usize) -> Result<(), RenderError> {
        let w = self.width;
        cur[0] = prev[1];
        let mut x = 0usize;
        while x < w {
            let ra = cur[x];
            let rb = prev[x + 1];
            let rc = prev[x];
            let rd = prev[x + 2];
            let (d1, d2, d3) = (rd - rb, rb - rc, rc - ra);
            let qs = 81 * self.quantize(d1) + 9 * self.quantize(d2) + self.quantize(d3);
            if qs == 0 {
                let (len, line_end) = self.run_length(x, comp)?;
                for i in 0..len {
                    cur[x + 1 + i] = ra;
                }
                x += len;
                if line_end {
                    break;
                }
                let rb = prev[x + 1];
                let ri_type = usize::from((ra - rb).abs() <= self.near);
                let e = self.ri_error(ri_type, comp)?;
                let v = if ri_type == 1 {
                    self.fix(ra + e * (2 * self.near + 1))
                } else {
                    let s = if rb < ra { -1 } else { 1 };
                    self.fix(rb + s * e * (2 * self.near + 1))
                };
                cur[x + 1] = v;
                self.end_run(comp);
                x += 1;
            } else {
                let pred = med(ra, rb, rc);
                cur[x + 1] = self.regular(qs, pred)?;
                x += 1;
            }
        }
        cur[w + 1] = cur[w];
        Ok(())
    }

    fn decode_lines(
        &mut self,
        out: &mut [u16],
        nc: usize,
        comps: &[usize],
        height: usize,
    ) -> Result<(), RenderError> {
        let w = self.width;
        let mut prev = vec![vec![0i32; w + 2]; comps.len()];
        let mut cur = vec![vec![0i32; w + 2]; comps.len()];
        for y in 0..height {
            for (i, &comp) in comps.iter().enumerate() {
                self.line(&prev[i], &mut cur[i], i)?;
                store(out, &cur[i], y, w, nc, comp);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok(())
    }

    fn decode_sample_interleaved(
        &mut self,
        out: &mut [u16],
        nc: usize,
        comps: &[usize],
        height: usize,
    ) -> Result<(), RenderError> {
        let w = self.width;
        let mut prev = vec![[0i32; 3]; w + 2];
        let mut cur = vec![[0i32; 3]; w + 2];
        for y in 0..height {
            cur[0] = prev[1];
            let mut x = 0usize;
            while x < w {
                let (ra, rb, rc, rd) = (cur[x], prev[x + 1], prev[x], prev[x + 2]);
                let mut qs = [0i32; 3];
                for c in 0..3 {
                    qs[c] = 81 * self.quantize(rd[c] - rb[c])
                        + 9 * self.quantize(rb[c] - rc[c])
                        + self.quantize(rc[c] - ra[c]);
                }
                if qs == [0, 0, 0] {
                    let (len, line_end) = self.run_length(x, 0)?;
                    for i in 0..len {
                        cur[x + 1 + i] = ra;
                    }
                    x += len;
                    if line_end {
                        break;
                    }
                    let rb = prev[x + 1];
                    let mut v = [0i32; 3];
                    for c in 0..3 {
                        let e = self.ri_error(0, 0)?;
                        let s = if rb[c] < ra[c] { -1 } else { 1 };
                        v[c] = self.fix(rb[c] + s * e * (2 * self.near + 1));
                    }
                    cur[x + 1] = v;
                    self.end_run(0);
                    x += 1;
                } else {
                    let mut v = [0i32; 3];
                    for c in 0..3 {
                        v[c] = self.regular(qs[c], med(ra[c], rb[c], rc[c]))?;
                    }
                    cur[x + 1] = v;
                    x += 1;
                }
            }
            cur[w + 1] = cur[w];
            for x in 0..w {
                for (c, &comp) in comps.iter().enumerate() {
                    if let Some(o) = out.get_mut((y * w + x) * nc + comp) {
                        *o = cur[x + 1][c] as u16;
                    }
                }
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok(())
    }
}

fn med(ra: i32, rb: i32, rc: i32) -> i32 {
    if rc >= ra.max(rb) {
        ra.min(rb)
    } else if rc <= ra.min(rb) {
        ra.max(rb)
    } else {
        ra + rb - rc
    }
}

fn store(out: &mut [u16], line: &[i32], y: usize, w: usize, nc: usize, comp: usize) {
    for x in 0..w {
        if let Some(o) = out.get_mut((y * w + x) * nc + comp) {
            *o = line[x + 1] as u16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_thresholds_match_t87_table_c3() {
        // 8-bit lossless: T1=3, T2=7, T3=21
        let p = derive_params(8, 0, None).unwrap();
        assert_eq!((p.maxval, p.t1, p.t2, p.t3, p.reset), (255, 3, 7, 21, 64));
        // 12-bit lossless: factor 16 → 18, 67, 276
        let p = derive_params(12, 0, None).unwrap();
        assert_eq!((p.t1, p.t2, p.t3), (18, 67, 276));
        // 16-bit is clamped like 12-bit
        let p = derive_params(16, 0, None).unwrap();
        assert_eq!((p.t1, p.t2, p.t3), (18, 67, 276));
    }

    #[test]
    fn errors_beyond_the_range_are_corrupt() {
        // 2-bit samples: RANGE 4, LIMIT 20; 16 zeros, a one and k = 1 bit code 33, which no
        // encoder writes (crafted runs of such codes overflowed the context sums)
        let p = derive_params(2, 0, None).unwrap();
        let mut dec = ScanDecoder::new(&[0x00, 0x00, 0xC0], p, 0, 1);
        assert!(dec.regular(1, 0).is_err());
        let mut dec = ScanDecoder::new(&[0x80], p, 0, 1);
        assert!(dec.regular(1, 0).is_ok());
    }

    #[test]
    fn each_component_is_scanned_once() {
        // 4x4, 8-bit, one component, all zero: a run to the end of each line (15 one bits)
        let head = [0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 8, 0, 4, 0, 4, 1, 1, 0x11, 0];
        let scan = [0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0, 0xFF, 0x7F];
        let once = [&head[..], &scan, &[0xFF, 0xD9]].concat();
        let img = decode(&once, 1 << 20).unwrap();
        assert_eq!(img.samples, vec![0; 16]);
        let twice = [&head[..], &scan, &scan, &[0xFF, 0xD9]].concat();
        assert!(decode(&twice, 1 << 20).is_err());
        let two_frames = [&head[..], &head[2..], &scan, &[0xFF, 0xD9]].concat();
        assert!(decode(&two_frames, 1 << 20).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"", 1 << 20).is_err());
        assert!(
            decode(
                &[0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 8, 0, 4, 0, 4, 1, 1, 0x11, 0],
                1 << 20
            )
            .is_err()
        );
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 8, 0, 4, 0, 4, 1, 1, 0x11, 0];
        s.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0]);
        s.extend_from_slice(&[0xAA; 3]);
        s.extend_from_slice(&[0xFF, 0xD9]);
        let _ = decode(&s, 1 << 20); // any result, no panic
        for cut in 0..s.len() {
            let _ = decode(&s[..cut], 1 << 20);
        }
    }
}
