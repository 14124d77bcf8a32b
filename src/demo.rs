//! `einkern demo`: a self-contained tour on generated data, with timings.
//! Each section shows one capability and, where speed is the point, times
//! it against the obvious alternative.

use std::time::Instant;

use einkern::{einsum, kernel, random, s, try_einsum, Array, ArrayView, Error, NewAxis, Order};

/// `exp(-a²/2)·b` as one fused, vectorised pass (the demo's `#[kernel]`).
#[kernel]
fn gauss(a: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    (-a * a / 2.0).exp() * b
}

/// Row-wise softmax: two reductions reused in the body, three passes.
#[kernel]
fn softmax(x: ArrayView<f32>) -> Array<f32> {
    let e = (x - max_keepdims(x, -1)).exp();
    e / sum_keepdims(e, -1)
}

/// Prints one line of the tour. A closed stdout (`einkern demo | head`)
/// ends the tour quietly, as SIGPIPE ends other command-line tools; any
/// other write error is returned.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(Error::io(None, e));
        }
    }};
}

/// Median wall time of `reps` calls, in milliseconds.
fn time_ms<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    std::hint::black_box(f());
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

pub fn run() -> Result<(), Error> {
    say!("einkern demo — the strided-array runtime, einsum! and #[kernel]\n");

    say!("== Arrays print like NumPy");
    let a = Array::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as f64 / 2.0);
    say!("a = Array::from_fn(&[3, 4], ..)\n{a}\n");

    say!("== Views share memory: slicing, transposes, broadcasting, windows");
    let rev = a.slice(s![..;-1, 1..;2])?;
    say!(
        "a[::-1, 1::2]  shape {:?} strides {:?}\n{rev}",
        rev.shape(),
        rev.strides()
    );
    let t = a.t();
    say!(
        "a.T            shape {:?} strides {:?}, C-contiguous: {}",
        t.shape(),
        t.strides(),
        t.is_c_contiguous()
    );
    let col = a.slice(s![.., 0, NewAxis])?;
    let b = col.broadcast_to(&[3, 5])?;
    say!(
        "a[:, 0, None] broadcast to {:?}, strides {:?}\n{b}",
        b.shape(),
        b.strides()
    );
    let x = Array::from_fn(&[8], |i| i[0] as i64);
    let w = x.sliding_window(&[3])?;
    say!("sliding_window(arange(8), 3) shape {:?}\n{w}\n", w.shape());

    say!("== Layout changes are cache-blocked");
    let n = 4096;
    let m = random::uniform::<f64>(&[n, n], 0.0, 1.0, 1)?;
    let blocked = time_ms(3, || m.t().to_owned());
    let naive = time_ms(3, || {
        let src = m.as_slice().expect("C order");
        let mut out = vec![0.0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = src[j * n + i];
            }
        }
        out
    });
    say!("transpose {n}x{n} f64 into a fresh C-order array: {blocked:.1} ms (row-by-row loop: {naive:.1} ms)");
    let f = m.to_order(Order::F);
    say!(
        "to_order(F): F-contiguous {}, same values {}\n",
        f.is_f_contiguous(),
        f == m
    );

    say!("== Fresh outputs are cheap (huge-page advice)");
    let len = 10_000_000;
    let fresh = time_ms(5, || {
        let mut z = Array::<f64>::zeros(&[len]);
        z.fill(1.0);
        z
    });
    let mut pre = Array::<f64>::zeros(&[len]);
    let reuse = time_ms(5, || pre.fill(1.0));
    say!(
        "fill 10^7 f64: fresh array {fresh:.1} ms, preallocated {reuse:.1} ms ({:.2}x)\n",
        fresh / reuse
    );

    say!("== #[kernel]: fused elementwise expressions and reductions");
    let (ga, gb) = (
        random::uniform::<f64>(&[len], 0.0, 1.0, 2)?,
        random::uniform::<f64>(&[len], 0.0, 1.0, 3)?,
    );
    let fused = time_ms(5, || gauss(ga.view(), gb.view()));
    let unfused = time_ms(5, || {
        // What a chain of NumPy operations does: one temporary per step.
        let (a, b) = (
            ga.as_slice().expect("C order"),
            gb.as_slice().expect("C order"),
        );
        let sq: Vec<f64> = a.iter().map(|x| -x * x / 2.0).collect();
        let e: Vec<f64> = sq.iter().map(|x| x.exp()).collect();
        e.iter().zip(b).map(|(e, b)| e * b).collect::<Vec<f64>>()
    });
    say!("exp(-a*a/2)*b on 10^7 f64: #[kernel] {fused:.1} ms, step by step with temporaries {unfused:.1} ms");
    let logits = Array::from_fn(&[2, 3], |i| (i[0] * 3 + i[1]) as f32);
    say!(
        "softmax over rows of\n{logits}\n=\n{}\n",
        softmax(logits.view())
    );

    einsum_section()?;

    say!("== .npy files round-trip with NumPy");
    let dir = std::env::temp_dir().join(format!("einkern-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(Some(&dir), e))?;
    let path = dir.join("a.npy");
    a.to_order(Order::F).write_npy(&path)?;
    let back = Array::<f64>::read_npy(&path)?;
    say!(
        "wrote {} (Fortran order) and read it back: equal {}",
        path.display(),
        back == a
    );
    match Array::<i32>::read_npy(&path) {
        Err(e) => say!("reading it as int32 fails cleanly: {e}"),
        Ok(_) => say!("unexpectedly read float64 data as int32"),
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(Some(&dir), e))?;
    Ok(())
}

/// `einsum!`: subscripts parsed at compile time, GEMM-shaped contractions on
/// packed AVX2/AVX-512 micro-kernels, whatever the operands' layouts.
fn einsum_section() -> Result<(), Error> {
    say!("== einsum! plans at compile time and runs on packed GEMM kernels");
    let n = 512;
    let a = random::uniform::<f64>(&[n, n], -1.0, 1.0, 2)?;
    let b = random::uniform::<f64>(&[n, n], -1.0, 1.0, 3)?;
    let fast = time_ms(5, || einsum!("ij,jk->ik", &a, &b));
    let naive = time_ms(1, || {
        let (x, y) = (
            a.as_slice().expect("C order"),
            b.as_slice().expect("C order"),
        );
        let mut c = vec![0.0f64; n * n];
        for i in 0..n {
            for k in 0..n {
                let aik = x[i * n + k];
                for j in 0..n {
                    c[i * n + j] += aik * y[k * n + j];
                }
            }
        }
        c
    });
    let gflops = 2.0 * (n * n * n) as f64 / fast / 1e6;
    say!("einsum!(\"ij,jk->ik\") {n}x{n} f64: {fast:.2} ms ({gflops:.0} GFLOP/s); i-k-j loop: {naive:.1} ms");
    let bt = b.t();
    let transposed = time_ms(5, || einsum!("ij,jk->ik", &a, bt.clone()));
    say!("  with B transposed (read through its strides, no copy): {transposed:.2} ms");
    let q = random::uniform::<f32>(&[4, 8, 128, 64], -1.0, 1.0, 4)?;
    let k = random::uniform::<f32>(&[4, 8, 128, 64], -1.0, 1.0, 5)?;
    let scores = time_ms(5, || einsum!("bhqd,bhkd->bhqk", &q, &k));
    say!("attention scores bhqd,bhkd->bhqk 4x8x128x64 f32: {scores:.2} ms");
    let trace = einsum!("ii->", &a);
    say!("trace ii-> = {:.4}", trace.to_vec()[0]);
    let c = random::uniform::<f64>(&[300, 7], -1.0, 1.0, 6)?;
    match try_einsum!("ij,jk->ik", &a, &c) {
        Err(e) => say!("a shape mismatch is an Err: {e}\n"),
        Ok(_) => say!("unexpectedly multiplied mismatched shapes\n"),
    }
    Ok(())
}
