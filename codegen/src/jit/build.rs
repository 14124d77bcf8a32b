//! From a [`Plan`] to machine code: one Cranelift module per kernel, freed
//! with the kernel.

use std::sync::{Mutex, OnceLock};

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, ModuleError};
use einkern_runtime::cpu::{self, Isa};
use einkern_runtime::Error;

use super::clif::{compile_stage, stage_work};
use super::plan::Plan;
use crate::expr::{Graph, Op};

/// A compiled stage: `n` elements of every slot buffer, see
/// [`super::clif`].
pub type StageFn = unsafe extern "C" fn(n: i64, slots: *const *mut u8);

/// A plan with machine code for every stage, and the code's owner.
pub struct Compiled {
    pub plan: Plan,
    /// `stages[part][s]`.
    pub stages: Vec<Vec<StageFn>>,
    module: Mutex<Option<JITModule>>,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        let module = self.module.get_mut().map(Option::take);
        if let Ok(Some(module)) = module {
            // SAFETY: the stage pointers into this module live in `self`,
            // which is being dropped: no `Kernel` handle can call them any
            // more, and no call is running (running calls borrow a handle).
            unsafe { module.free_memory() };
        }
    }
}

/// The host ISA, detected once; `None` if Cranelift cannot target it.
/// `large` kernels get the single-pass register allocator.
fn host_isa(large: bool) -> Result<OwnedTargetIsa, Error> {
    static ISA: [OnceLock<Result<OwnedTargetIsa, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    ISA[large as usize]
        .get_or_init(|| {
            let mut flags = settings::builder();
            let set = |f: &mut settings::Builder, k: &str, v: &str| {
                f.set(k, v).map_err(|e| format!("cranelift flag {k}: {e}"))
            };
            // Compile latency matters more than Cranelift's mid-end here: the
            // loops are simple, and `clif` hoists constants and shares
            // addresses itself.
            set(&mut flags, "opt_level", "none")?;
            set(&mut flags, "use_colocated_libcalls", "false")?;
            set(&mut flags, "is_pic", "false")?;
            if large {
                set(&mut flags, "regalloc_algorithm", "single_pass")?;
            }
            let builder = cranelift_native::builder().map_err(|e| e.to_string())?;
            builder
                .finish(settings::Flags::new(flags))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::value(format!("the JIT cannot target this machine: {e}")))
}

fn backend(e: ModuleError) -> Error {
    Error::value(format!("JIT code generation failed: {e}"))
}

/// The most operations a kernel may have: IR nodes after common
/// subexpressions are merged, counted once per stage that computes them
/// (cheap arithmetic feeding vector-math calls of several levels is
/// recomputed by each). Code generation is linear in this count, about
/// 10 µs per operation: a 200 KB balanced sum of 16 000 `x*c` terms has
/// 48 000 and compiles in 0.4 s (CPU time, dev profile, Cranelift
/// optimised); 100 000 take about 1 s and 100 MB. Real expressions have
/// tens to hundreds.
pub const MAX_OPERATIONS: usize = 100_000;

/// The most block buffers a kernel's row function may use (inputs, and
/// arguments and results of vector-math calls): each takes
/// `BLOCK` × 8 bytes per thread, 4 MiB at the limit.
pub const MAX_SLOTS: usize = 4096;

/// The most reductions a kernel may have: each is a part of its own with
/// a temporary the size of its argument, and planning them takes time
/// proportional to reductions × operations.
pub const MAX_REDUCTIONS: usize = 256;

/// Refuses, before planning, a graph over the limits that planning's own
/// cost depends on (every node is computed by at least one stage, so
/// this is a lower bound of the count [`check_size`] checks).
pub fn check_graph(graph: &Graph) -> Result<(), Error> {
    let nodes = graph.nodes().len();
    if nodes > MAX_OPERATIONS {
        return Err(too_large(nodes));
    }
    let reductions = (graph.nodes().iter())
        .filter(|n| matches!(n.op, Op::Reduce { .. }))
        .count();
    if reductions > MAX_REDUCTIONS {
        return Err(Error::value(format!(
            "the expression is too large for the JIT: {reductions} reductions; \
             the limit is {MAX_REDUCTIONS}"
        )));
    }
    Ok(())
}

fn too_large(work: usize) -> Error {
    Error::value(format!(
        "the expression is too large for the JIT: {work} operations after merging common \
         subexpressions; the limit is {MAX_OPERATIONS}"
    ))
}

/// Kernels with more operations than this are compiled with Cranelift's
/// single-pass register allocator. The default, backtracking one makes
/// better code but its time grows quadratically with the values live at
/// once, and a wide expression whose halves share thousands of
/// subexpressions keeps them all live: 16 000 operations took 8.3 s
/// with it and 0.17 s single-pass.
const LARGE_KERNEL: usize = 2000;

/// The operations of `plan` (see [`MAX_OPERATIONS`]), or an error if it is
/// too large to compile.
fn check_size(plan: &Plan) -> Result<usize, Error> {
    let mut work = 0;
    for part in &plan.parts {
        if part.slot_types.len() > MAX_SLOTS {
            return Err(Error::value(format!(
                "the expression is too large for the JIT: it needs {} block buffers \
                 (inputs, and vector-math calls' arguments and results); the limit is {MAX_SLOTS}",
                part.slot_types.len()
            )));
        }
        for stage in &part.stages {
            work += stage_work(part, stage);
            if work > MAX_OPERATIONS {
                return Err(too_large(work));
            }
        }
    }
    if work > MAX_OPERATIONS {
        return Err(too_large(work));
    }
    Ok(work)
}

/// Generates code for every stage of `plan`.
pub fn build(plan: Plan) -> Result<Compiled, Error> {
    let work = check_size(&plan)?;
    let large = work > LARGE_KERNEL;
    let mut module = JITModule::new(JITBuilder::with_isa(
        host_isa(large)?,
        default_libcall_names(),
    ));
    let fma = cpu::isa() >= Isa::Avx2Fma;
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = Vec::new();
    for (p, part) in plan.parts.iter().enumerate() {
        let mut part_ids = Vec::new();
        for (s, stage) in part.stages.iter().enumerate() {
            let name = format!("p{p}s{s}");
            part_ids.push(
                compile_stage(&mut module, &mut fctx, part, stage, &name, fma)
                    .map_err(|e| backend(*e))?,
            );
        }
        ids.push(part_ids);
    }
    module.finalize_definitions().map_err(backend)?;
    let stages = ids
        .iter()
        .map(|part| {
            part.iter()
                .map(|id| {
                    let code = module.get_finalized_function(*id);
                    // SAFETY: `code` is a finalized function of `module`,
                    // compiled with exactly the `StageFn` signature (i64 and
                    // a pointer, no results) in the host's C convention.
                    unsafe { std::mem::transmute::<*const u8, StageFn>(code) }
                })
                .collect()
        })
        .collect();
    Ok(Compiled {
        plan,
        stages,
        module: Mutex::new(Some(module)),
    })
}
