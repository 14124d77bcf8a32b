//! `einkern demo`: a self-contained tour on generated data, with timings.
//! Each section shows one capability and, where speed is the point, times
//! it against the obvious alternative.

use std::time::Instant;

use einkern::{kernel, random, s, Array, ArrayView, Error, NewAxis, Order};

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
    println!("einkern demo — the strided-array runtime\n");

    println!("== Arrays print like NumPy");
    let a = Array::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as f64 / 2.0);
    println!("a = Array::from_fn(&[3, 4], ..)\n{a}\n");

    println!("== Views share memory: slicing, transposes, broadcasting, windows");
    let rev = a.slice(s![..;-1, 1..;2])?;
    println!(
        "a[::-1, 1::2]  shape {:?} strides {:?}\n{rev}",
        rev.shape(),
        rev.strides()
    );
    let t = a.t();
    println!(
        "a.T            shape {:?} strides {:?}, C-contiguous: {}",
        t.shape(),
        t.strides(),
        t.is_c_contiguous()
    );
    let col = a.slice(s![.., 0, NewAxis])?;
    let b = col.broadcast_to(&[3, 5])?;
    println!(
        "a[:, 0, None] broadcast to {:?}, strides {:?}\n{b}",
        b.shape(),
        b.strides()
    );
    let x = Array::from_fn(&[8], |i| i[0] as i64);
    let w = x.sliding_window(&[3])?;
    println!("sliding_window(arange(8), 3) shape {:?}\n{w}\n", w.shape());

    println!("== Layout changes are cache-blocked");
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
    println!("transpose {n}x{n} f64 into a fresh C-order array: {blocked:.1} ms (row-by-row loop: {naive:.1} ms)");
    let f = m.to_order(Order::F);
    println!(
        "to_order(F): F-contiguous {}, same values {}\n",
        f.is_f_contiguous(),
        f == m
    );

    println!("== Fresh outputs are cheap (huge-page advice)");
    let len = 10_000_000;
    let fresh = time_ms(5, || {
        let mut z = Array::<f64>::zeros(&[len]);
        z.fill(1.0);
        z
    });
    let mut pre = Array::<f64>::zeros(&[len]);
    let reuse = time_ms(5, || pre.fill(1.0));
    println!(
        "fill 10^7 f64: fresh array {fresh:.1} ms, preallocated {reuse:.1} ms ({:.2}x)\n",
        fresh / reuse
    );

    println!("== #[kernel]: fused elementwise expressions and reductions");
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
    println!("exp(-a*a/2)*b on 10^7 f64: #[kernel] {fused:.1} ms, step by step with temporaries {unfused:.1} ms");
    let logits = Array::from_fn(&[2, 3], |i| (i[0] * 3 + i[1]) as f32);
    println!(
        "softmax over rows of\n{logits}\n=\n{}\n",
        softmax(logits.view())
    );

    println!("== .npy files round-trip with NumPy");
    let dir = std::env::temp_dir().join(format!("einkern-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(Some(&dir), e))?;
    let path = dir.join("a.npy");
    a.to_order(Order::F).write_npy(&path)?;
    let back = Array::<f64>::read_npy(&path)?;
    println!(
        "wrote {} (Fortran order) and read it back: equal {}",
        path.display(),
        back == a
    );
    match Array::<i32>::read_npy(&path) {
        Err(e) => println!("reading it as int32 fails cleanly: {e}"),
        Ok(_) => println!("unexpectedly read float64 data as int32"),
    }
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(Some(&dir), e))?;
    Ok(())
}
