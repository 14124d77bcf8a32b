use std::time::Instant;
fn main(){
    let n = 10_000_000usize;
    for _ in 0..3 {
        let t = Instant::now();
        let mut a = einkern::Array::<f64>::zeros(&[n]);
        a.fill(1.0);
        let fresh = t.elapsed().as_secs_f64()*1e3;
        let s = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
        let ah: Vec<_> = s.lines().filter(|l| l.starts_with("AnonHugePages")).collect();
        let t = Instant::now();
        a.fill(2.0);
        let pre = t.elapsed().as_secs_f64()*1e3;
        println!("fresh {fresh:.2} pre {pre:.2} {:?}", ah);
    }
}
