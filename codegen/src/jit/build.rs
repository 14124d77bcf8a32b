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

use super::clif::compile_stage;
use super::plan::Plan;

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
fn host_isa() -> Result<OwnedTargetIsa, Error> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
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

/// Generates code for every stage of `plan`.
pub fn build(plan: Plan) -> Result<Compiled, Error> {
    let mut module = JITModule::new(JITBuilder::with_isa(host_isa()?, default_libcall_names()));
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
