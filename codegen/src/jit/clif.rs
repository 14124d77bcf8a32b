//! Lowering one [`Stage`] to a Cranelift function.
//!
//! Every stage function has the signature
//! `extern "C" fn(n: i64, slots: *const *mut u8)`: `n` elements of each
//! slot buffer, all contiguous (the driver gathers strided and broadcast
//! inputs into blocks first, so the generated loops never see a stride).
//!
//! The body is a main loop over 128-bit vectors (`f64x2`, `f32x4`), four
//! vectors per iteration for instruction-level parallelism, then a scalar
//! loop for the tail. Stages that mix element widths or compute on integers
//! get only the scalar loop. Booleans are `i8` 0/1 in scalar code and
//! all-ones/all-zeros lane masks in vector code, so `where` is a `select`
//! or a `bitselect`. `a*b + c` becomes `fma` where the host has it.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, BlockArg, Endianness, InstBuilder, MemFlagsData, Type, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module, ModuleError};

use super::plan::{Part, Stage};
use crate::expr::ast::BinaryOp;
use crate::expr::{Constant, Func, Graph, NodeId, Op, ScalarType};

/// Vectors per main-loop iteration.
const UNROLL: usize = 4;

/// A stage computing more nodes than this per element is not unrolled: its
/// body has instruction-level parallelism enough, and five copies of a
/// huge expression (four unrolled, one scalar) would only multiply compile
/// time and code size.
const UNROLL_MAX_NODES: usize = 64;

/// Constants materialised once before the loops, at most: each hoisted
/// constant is live across both loops, and with thousands of them (a wide
/// expression with distinct literals) the register allocator's work grew
/// quadratically (a 2000-term sum: 22 s with all 4000 hoisted, 0.4 s with
/// none). The rest are materialised where they are used.
const MAX_HOISTED: usize = 16;

/// Compiles stage `s` of `part` into `module` as function `name`.
pub fn compile_stage(
    module: &mut JITModule,
    fctx: &mut FunctionBuilderContext,
    part: &Part,
    stage: &Stage,
    name: &str,
    fma: bool,
) -> Result<FuncId, Box<ModuleError>> {
    let ptr = module.target_config().pointer_type();
    let mut ctx = module.make_context();
    ctx.func.signature.params.push(AbiParam::new(types::I64));
    ctx.func.signature.params.push(AbiParam::new(ptr));
    let id = module
        .declare_function(name, Linkage::Local, &ctx.func.signature)
        .map_err(Box::new)?;
    ctx.func.name = UserFuncName::user(0, id.as_u32());

    let needed = needed_nodes(part, stage);
    let lanes = vector_lanes(&part.graph, &needed, part);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let n = b.block_params(entry)[0];
        let slots = b.block_params(entry)[1];
        // Every slot pointer this stage touches, loaded once, if they are
        // few; otherwise each loop loads the ones it uses where it uses
        // them (as with constants, thousands of values live across the
        // loops made register allocation quadratic).
        let mut used: Vec<usize> = (0..part.graph.inputs().len())
            .chain(part.results.values().copied())
            .chain(stage.outputs.iter().map(|o| o.1))
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut bases = Bases {
            slots,
            ptr,
            hoisted: HashMap::new(),
        };
        if used.len() <= MAX_HOISTED {
            for s in used {
                let p = bases.load(&mut b, s);
                bases.hoisted.insert(s, p);
            }
        }
        let zero = b.ins().iconst(types::I64, 0);
        let hoist = |b: &mut FunctionBuilder, lanes: usize| {
            let mut e = Emitter::new(b, part, &bases, lanes, zero, fma, HashMap::new());
            e.hoist_constants(&needed);
            e.consts
        };
        let sconsts = hoist(&mut b, 1);
        let vconsts = lanes.map(|l| hoist(&mut b, l)).unwrap_or_default();
        let scalar_head = b.create_block();
        b.append_block_param(scalar_head, types::I64);
        let exit = b.create_block();

        let work = needed.iter().filter(|&&n| n).count();
        let unroll = if work > UNROLL_MAX_NODES { 1 } else { UNROLL };
        if let Some(lanes) = lanes {
            let step = (lanes * unroll) as i64;
            let head = b.create_block();
            let body = b.create_block();
            b.append_block_param(head, types::I64);
            b.append_block_param(body, types::I64);
            b.ins().jump(head, &[BlockArg::Value(zero)]);
            b.switch_to_block(head);
            let i = b.block_params(head)[0];
            let next = b.ins().iadd_imm_s(i, step);
            let fits = b.ins().icmp(IntCC::SignedLessThanOrEqual, next, n);
            b.ins().brif(
                fits,
                body,
                &[BlockArg::Value(i)],
                scalar_head,
                &[BlockArg::Value(i)],
            );
            b.switch_to_block(body);
            let i = b.block_params(body)[0];
            let mut e = Emitter::new(&mut b, part, &bases, lanes, i, fma, vconsts);
            for u in 0..unroll {
                e.offset = (u * 16) as i32;
                e.values.clear();
                e.emit(stage, &needed);
            }
            let next = b.ins().iadd_imm_s(i, step);
            b.ins().jump(head, &[BlockArg::Value(next)]);
        } else {
            b.ins().jump(scalar_head, &[BlockArg::Value(zero)]);
        }

        let scalar_body = b.create_block();
        b.append_block_param(scalar_body, types::I64);
        b.switch_to_block(scalar_head);
        let i = b.block_params(scalar_head)[0];
        let more = b.ins().icmp(IntCC::SignedLessThan, i, n);
        b.ins()
            .brif(more, scalar_body, &[BlockArg::Value(i)], exit, &[]);
        b.switch_to_block(scalar_body);
        let i = b.block_params(scalar_body)[0];
        let mut e = Emitter::new(&mut b, part, &bases, 1, i, fma, sconsts);
        e.emit(stage, &needed);
        let next = b.ins().iadd_imm_s(i, 1);
        b.ins().jump(scalar_head, &[BlockArg::Value(next)]);

        b.switch_to_block(exit);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
    }
    module.define_function(id, &mut ctx).map_err(Box::new)?;
    module.clear_context(&mut ctx);
    Ok(id)
}

/// How many nodes stage `stage` of `part` computes per element.
pub fn stage_work(part: &Part, stage: &Stage) -> usize {
    needed_nodes(part, stage).iter().filter(|&&n| n).count()
}

/// Whether each node must be computed by this stage. Inputs and call
/// results are loaded, so what lies below them is not needed.
fn needed_nodes(part: &Part, stage: &Stage) -> Vec<bool> {
    let nodes = part.graph.nodes();
    let mut needed = vec![false; nodes.len()];
    for (id, _) in &stage.outputs {
        needed[id.0 as usize] = true;
    }
    for i in (0..nodes.len()).rev() {
        let id = NodeId(i as u32);
        if needed[i] && !part.results.contains_key(&id) {
            for o in nodes[i].op.operands() {
                needed[o.0 as usize] = true;
            }
        }
    }
    needed
}

/// Lanes per 128-bit vector if every needed node is a float of one width
/// (or a boolean) and every operation has a vector form; `None` otherwise.
fn vector_lanes(graph: &Graph, needed: &[bool], part: &Part) -> Option<usize> {
    let mut width = None;
    for (i, node) in graph.nodes().iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let loaded = part.results.contains_key(&NodeId(i as u32));
        match (node.ty, node.op) {
            (_, Op::Cast(_)) if !loaded => return None,
            (ScalarType::Bool, _) => continue,
            (ScalarType::F32 | ScalarType::F64, _) => {}
            _ => return None,
        }
        let lanes = if node.ty == ScalarType::F64 { 2 } else { 4 };
        if *width.get_or_insert(lanes) != lanes {
            return None;
        }
    }
    Some(width.unwrap_or(2))
}

/// Where a stage finds its slot buffers: the `slots` parameter, and the
/// pointers loaded from it once before the loops.
struct Bases {
    slots: Value,
    ptr: Type,
    hoisted: HashMap<usize, Value>,
}

impl Bases {
    /// Loads slot `s`'s buffer pointer at the builder's position.
    fn load(&self, b: &mut FunctionBuilder, s: usize) -> Value {
        let offset = (s * self.ptr.bytes() as usize) as i32;
        b.ins()
            .load(self.ptr, MemFlagsData::trusted(), self.slots, offset)
    }
}

struct Emitter<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    part: &'a Part,
    bases: &'a Bases,
    lanes: usize,
    /// The element index of this iteration.
    index: Value,
    /// Byte offset of this unrolled copy.
    offset: i32,
    fma: bool,
    values: HashMap<NodeId, Value>,
    /// Constants, materialised once in the entry block (the loops are
    /// compiled without Cranelift's optimiser, for latency, so hoisting
    /// and address reuse are done here).
    consts: HashMap<NodeId, Value>,
    /// Each slot's address at `index`, shared by the unrolled copies.
    addrs: HashMap<usize, Value>,
}

impl<'a, 'b> Emitter<'a, 'b> {
    fn new(
        b: &'a mut FunctionBuilder<'b>,
        part: &'a Part,
        bases: &'a Bases,
        lanes: usize,
        index: Value,
        fma: bool,
        consts: HashMap<NodeId, Value>,
    ) -> Self {
        Emitter {
            b,
            part,
            bases,
            lanes,
            index,
            offset: 0,
            fma,
            values: HashMap::new(),
            consts,
            addrs: HashMap::new(),
        }
    }

    /// The Cranelift type holding values of `ty` in this loop.
    fn clif(&self, ty: ScalarType) -> Type {
        let scalar = match ty {
            ScalarType::Bool if self.lanes == 1 => return types::I8,
            // A lane mask as wide as the float lanes beside it.
            ScalarType::Bool if self.lanes == 4 => return types::I32X4,
            ScalarType::Bool => return types::I64X2,
            ScalarType::I32 => types::I32,
            ScalarType::I64 => types::I64,
            ScalarType::F32 => types::F32,
            ScalarType::F64 => types::F64,
        };
        match self.lanes {
            1 => scalar,
            n => scalar.by(n as u32).expect("128-bit vector type"),
        }
    }

    fn address(&mut self, slot: usize, ty: ScalarType) -> Value {
        if let Some(&a) = self.addrs.get(&slot) {
            return a;
        }
        let shift = match ty {
            ScalarType::F32 | ScalarType::I32 => 2,
            _ => 3,
        };
        let base = match self.bases.hoisted.get(&slot) {
            Some(&base) => base,
            None => self.bases.load(self.b, slot),
        };
        let byte = self.b.ins().ishl_imm_s(self.index, shift);
        let a = self.b.ins().iadd(base, byte);
        self.addrs.insert(slot, a);
        a
    }

    /// Materialises the first [`MAX_HOISTED`] needed constants at the
    /// current position.
    fn hoist_constants(&mut self, needed: &[bool]) {
        for (i, node) in self.part.graph.nodes().iter().enumerate() {
            if self.consts.len() == MAX_HOISTED {
                break;
            }
            if let (true, Op::Const(c)) = (needed[i], node.op) {
                let v = self.constant(c, node.ty);
                self.consts.insert(NodeId(i as u32), v);
            }
        }
    }

    fn load(&mut self, slot: usize, ty: ScalarType) -> Value {
        let addr = self.address(slot, ty);
        let t = self.clif(ty);
        self.b
            .ins()
            .load(t, MemFlagsData::new().with_notrap(), addr, self.offset)
    }

    /// Computes the needed nodes in order, storing each output of the
    /// stage as soon as it is computed: a stage feeding thousands of
    /// vector-math calls would otherwise keep every argument live to the
    /// end of the loop body (quadratic register allocation: 4000 calls
    /// took 4.1 s, 1.3 s with the bases hoisted less, and 0.2 s now).
    fn emit(&mut self, stage: &Stage, needed: &[bool]) {
        let mut outputs: HashMap<NodeId, Vec<usize>> = HashMap::new();
        for &(id, slot) in &stage.outputs {
            outputs.entry(id).or_default().push(slot);
        }
        for (i, &need) in needed.iter().enumerate() {
            if !need {
                continue;
            }
            let id = NodeId(i as u32);
            let v = self.node(id);
            self.values.insert(id, v);
            for &slot in outputs.get(&id).map(Vec::as_slice).unwrap_or_default() {
                let ty = self.part.graph.node(id).ty;
                let addr = self.address(slot, ty);
                self.b
                    .ins()
                    .store(MemFlagsData::new().with_notrap(), v, addr, self.offset);
            }
        }
    }

    fn node(&mut self, id: NodeId) -> Value {
        let graph = &self.part.graph;
        let node = *graph.node(id);
        if let Some(&slot) = self.part.results.get(&id) {
            return self.load(slot, node.ty);
        }
        let ty = node.ty;
        let args: Vec<Value> = node.op.operands().iter().map(|o| self.values[o]).collect();
        match node.op {
            Op::Input(k) => self.load(k, ty),
            Op::Const(c) => match self.consts.get(&id) {
                Some(&v) => v,
                None => self.constant(c, ty),
            },
            Op::Neg(_) if ty.is_float() => self.b.ins().fneg(args[0]),
            Op::Neg(_) => self.b.ins().ineg(args[0]),
            Op::Not(_) if self.lanes == 1 => self.b.ins().bxor_imm_s(args[0], 1),
            Op::Not(_) => self.b.ins().bnot(args[0]),
            Op::Binary(op, a, b) => {
                let operand = graph.node(a).ty;
                self.binary(op, operand, a, b)
            }
            Op::Powi(_, n) => self.powi(args[0], n, ty),
            Op::Func1(f, _) => self.func1(f, args[0], ty),
            Op::Func2(f, _, _) => self.func2(f, args[0], args[1], ty),
            Op::Where(..) => self.select(args[0], args[1], args[2], ty),
            Op::Cast(a) => self.cast(args[0], graph.node(a).ty, ty),
            Op::Reduce { .. } => unreachable!("reductions are split off by the plan"),
            Op::Einsum(_) => unreachable!("the JIT's language has no einsum! (see jit::einsum)"),
        }
    }

    fn constant(&mut self, c: Constant, ty: ScalarType) -> Value {
        let scalar = match (ty, c) {
            (ScalarType::F64, _) => self.b.ins().f64const(c.as_f64()),
            (ScalarType::F32, _) => self.b.ins().f32const(c.as_f64() as f32),
            (ScalarType::I32, Constant::Int(i)) => self.b.ins().iconst(types::I32, i),
            (ScalarType::I64, Constant::Int(i)) => self.b.ins().iconst(types::I64, i),
            (ScalarType::Bool, Constant::Bool(x)) if self.lanes == 1 => {
                self.b.ins().iconst(types::I8, x as i64)
            }
            (ScalarType::Bool, Constant::Bool(x)) => {
                let t = self.clif(ty);
                let lane = self.b.ins().iconst(t.lane_type(), -(x as i64));
                return self.b.ins().splat(t, lane);
            }
            _ => unreachable!("constants have their node's type"),
        };
        if self.lanes == 1 {
            scalar
        } else {
            let t = self.clif(ty);
            self.b.ins().splat(t, scalar)
        }
    }

    /// Multiply-add fusion: `x*y + z` and `x*y - z` on floats.
    fn fused(&mut self, op: BinaryOp, a: NodeId, b: NodeId) -> Option<Value> {
        if !self.fma {
            return None;
        }
        let graph = &self.part.graph;
        let product = |id: NodeId| match graph.node(id).op {
            Op::Binary(BinaryOp::Mul, x, y) if !self.part.results.contains_key(&id) => Some((x, y)),
            _ => None,
        };
        let v = &self.values;
        match (op, product(a), product(b)) {
            (BinaryOp::Add, Some((x, y)), _) => Some(self.b.ins().fma(v[&x], v[&y], v[&b])),
            (BinaryOp::Add, None, Some((x, y))) => Some(self.b.ins().fma(v[&x], v[&y], v[&a])),
            (BinaryOp::Sub, Some((x, y)), _) => {
                let (x, y, z) = (v[&x], v[&y], v[&b]);
                let neg = self.b.ins().fneg(z);
                Some(self.b.ins().fma(x, y, neg))
            }
            _ => None,
        }
    }

    fn binary(&mut self, op: BinaryOp, operand: ScalarType, a: NodeId, b: NodeId) -> Value {
        use BinaryOp::*;
        let (x, y) = (self.values[&a], self.values[&b]);
        let float = operand.is_float();
        if float && matches!(op, Add | Sub) {
            if let Some(v) = self.fused(op, a, b) {
                return v;
            }
        }
        let ins = self.b.ins();
        match op {
            Add if float => ins.fadd(x, y),
            Sub if float => ins.fsub(x, y),
            Mul if float => ins.fmul(x, y),
            Div => ins.fdiv(x, y),
            Add => ins.iadd(x, y),
            Sub => ins.isub(x, y),
            Mul => ins.imul(x, y),
            And => ins.band(x, y),
            Or => ins.bor(x, y),
            Pow => unreachable!("float powers are vector-math calls"),
            Lt | Le | Gt | Ge | Eq | Ne if float => {
                let cc = match op {
                    Lt => FloatCC::LessThan,
                    Le => FloatCC::LessThanOrEqual,
                    Gt => FloatCC::GreaterThan,
                    Ge => FloatCC::GreaterThanOrEqual,
                    Eq => FloatCC::Equal,
                    _ => FloatCC::NotEqual,
                };
                ins.fcmp(cc, x, y)
            }
            Lt | Le | Gt | Ge | Eq | Ne => {
                let cc = match op {
                    Lt => IntCC::SignedLessThan,
                    Le => IntCC::SignedLessThanOrEqual,
                    Gt => IntCC::SignedGreaterThan,
                    Ge => IntCC::SignedGreaterThanOrEqual,
                    Eq => IntCC::Equal,
                    _ => IntCC::NotEqual,
                };
                ins.icmp(cc, x, y)
            }
        }
    }

    /// `x ** n` by repeated squaring (`1 / x ** -n` for negative `n`).
    fn powi(&mut self, x: Value, n: i32, ty: ScalarType) -> Value {
        let mut result: Option<Value> = None;
        let mut base = x;
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                result = Some(match result {
                    None => base,
                    Some(r) => self.mul(r, base, ty),
                });
            }
            e >>= 1;
            if e > 0 {
                base = self.mul(base, base, ty);
            }
        }
        let one = || match ty {
            ScalarType::F64 => Constant::float(1.0),
            ScalarType::F32 => Constant::float(1.0),
            _ => Constant::Int(1),
        };
        let r = match result {
            Some(r) => r,
            None => return self.constant(one(), ty),
        };
        if n < 0 {
            let one = self.constant(one(), ty);
            self.b.ins().fdiv(one, r)
        } else {
            r
        }
    }

    fn mul(&mut self, a: Value, b: Value, ty: ScalarType) -> Value {
        if ty.is_float() {
            self.b.ins().fmul(a, b)
        } else {
            self.b.ins().imul(a, b)
        }
    }

    fn func1(&mut self, f: Func, x: Value, ty: ScalarType) -> Value {
        let ins = self.b.ins();
        match f {
            Func::Abs if ty.is_float() => ins.fabs(x),
            Func::Abs => ins.iabs(x),
            Func::Sqrt => ins.sqrt(x),
            Func::Floor => ins.floor(x),
            Func::Ceil => ins.ceil(x),
            _ => unreachable!("{f:?} is a vector-math call"),
        }
    }

    fn func2(&mut self, f: Func, x: Value, y: Value, ty: ScalarType) -> Value {
        let ins = self.b.ins();
        match (f, ty.is_float()) {
            (Func::Minimum, true) => ins.fmin(x, y),
            (Func::Maximum, true) => ins.fmax(x, y),
            (Func::Minimum, false) => ins.smin(x, y),
            (Func::Maximum, false) => ins.smax(x, y),
            _ => unreachable!("{f:?} is a vector-math call"),
        }
    }

    fn select(&mut self, c: Value, a: Value, b: Value, ty: ScalarType) -> Value {
        if self.lanes == 1 {
            return self.b.ins().select(c, a, b);
        }
        let t = self.clif(ty);
        let mask = if ty == ScalarType::Bool {
            c
        } else {
            let little = MemFlagsData::new().with_endianness(Endianness::Little);
            self.b.ins().bitcast(t, little, c)
        };
        self.b.ins().bitselect(mask, a, b)
    }

    /// Rust's `as` (what the reference does): float → int truncates and
    /// saturates, NaN → 0; int → int wraps or sign-extends.
    fn cast(&mut self, x: Value, from: ScalarType, to: ScalarType) -> Value {
        use ScalarType::*;
        let t = self.clif(to);
        let ins = self.b.ins();
        match (from, to) {
            (F32, F64) => ins.fpromote(t, x),
            (F64, F32) => ins.fdemote(t, x),
            (F32 | F64, I32 | I64) => ins.fcvt_to_sint_sat(t, x),
            (I32 | I64, F32 | F64) => ins.fcvt_from_sint(t, x),
            (I32, I64) => ins.sextend(t, x),
            (I64, I32) => ins.ireduce(t, x),
            (Bool, I32 | I64) => ins.uextend(t, x),
            (Bool, F32 | F64) => {
                let wide = ins.uextend(types::I32, x);
                self.b.ins().fcvt_from_sint(t, wide)
            }
            (F32 | F64, Bool) => {
                let zero = self.constant(Constant::float(0.0), from);
                self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
            }
            (I32 | I64, Bool) => ins.icmp_imm_s(IntCC::NotEqual, x, 0),
            _ => unreachable!("casts between distinct types only"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_lanes_follow_the_element_width() {
        let g = crate::expr::compile_str("where(x > 0.5, x * 2.0, -x)", &["x"], ScalarType::F32)
            .unwrap();
        let plan = super::super::plan::Plan::new(&g);
        let part = plan.final_part();
        let needed = needed_nodes(part, &part.stages[0]);
        assert_eq!(vector_lanes(&part.graph, &needed, part), Some(4));
        let g = crate::expr::compile_str("x * 2", &["x"], ScalarType::I64).unwrap();
        let plan = super::super::plan::Plan::new(&g);
        let part = plan.final_part();
        let needed = needed_nodes(part, &part.stages[0]);
        assert_eq!(vector_lanes(&part.graph, &needed, part), None);
    }
}
