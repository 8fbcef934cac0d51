//! Forward-over-reverse (a JVP of a gradient, `jvp(grad f)`) against two independent oracles:
//! reverse-over-reverse (`hvp_reverse`, `∇⟨∇f, v⟩`) and a central difference of the gradient
//! `(∇f(x + εv) − ∇f(x − εv)) / 2ε`, all in f64. Covers MLPs with every activation the
//! workspace uses (on the fused linear op and on the matmul + broadcast-add composition),
//! reductions, broadcasting, selection, joins, batched products and `slogdet`; Hessians with
//! respect to parameters and mixed input/parameter second derivatives; a recorded tangent of a
//! gradient (third derivatives); and that plain backward passes stay tangent-free.

use flow_core::nn::Activation;
use flow_core::{
    DType, Tensor, grad, grad_with_graph, hvp, hvp_reverse, jacobian, jvp, make_dual, vjp,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// `max |a − b| / (1 + max |b|)`.
fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_vec_f64(), b.to_vec_f64());
    let scale = 1.0 + b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
        / scale
}

/// `(∇f(x + εv) − ∇f(x − εv)) / 2ε` with ε = 1e-5.
fn fd_hvp(f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, v: &Tensor) -> Tensor {
    let eps = 1e-5;
    let g = |s: f64| {
        let xs = x.add(&v.mul_scalar(s)).requires_grad();
        grad(&f(&xs), &[&xs]).remove(0)
    };
    g(eps).sub(&g(-eps)).mul_scalar(0.5 / eps)
}

/// Checks `hvp` (forward-over-reverse) and the explicit `jvp(grad f)` against
/// reverse-over-reverse (to round-off) and, when `smooth`, against finite differences.
fn check_hvp(name: &str, f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, v: &Tensor, smooth: bool) {
    let fwd = hvp(f, x, v);
    let rev = hvp_reverse(f, x, v);
    let e = rel_err(&fwd, &rev);
    assert!(
        e < 1e-11,
        "{name}: forward-over-reverse vs reverse-over-reverse {e:.2e}"
    );
    let explicit = jvp(
        |x| grad(&f(x), &[x]).remove(0),
        &x.detach().requires_grad(),
        v,
    )
    .1;
    assert!(rel_err(&explicit, &rev) < 1e-11, "{name}: jvp(grad f)");
    if smooth {
        let e = rel_err(&fwd, &fd_hvp(f, x, v));
        assert!(
            e < 1e-6,
            "{name}: forward-over-reverse vs finite difference {e:.2e}"
        );
    }
    assert!(
        rev.to_vec_f64().iter().any(|h| *h != 0.0),
        "{name}: H v is zero"
    );
}

/// A `widths[0] → … → widths[last]` MLP with explicit weights, on the fused linear op
/// (`fused`) or on `x Wᵀ` plus a broadcast bias.
struct Net {
    weights: Vec<Tensor>,
    biases: Vec<Tensor>,
}

impl Net {
    fn new(widths: &[usize], seed: u64) -> Net {
        let mut r = rng(seed);
        let mut net = Net {
            weights: vec![],
            biases: vec![],
        };
        for w in widths.windows(2) {
            let scale = 1.5 / (w[0] as f64).sqrt();
            let weight = Tensor::randn(&[w[1], w[0]], DType::F64, &mut r).mul_scalar(scale);
            net.weights.push(weight);
            net.biases
                .push(Tensor::randn(&[w[1]], DType::F64, &mut r).mul_scalar(0.5));
        }
        net
    }

    /// The pre-activations of every hidden layer, then the output.
    fn layers(&self, x: &Tensor, act: Activation, fused: bool) -> Vec<Tensor> {
        self.layers_with(x, &self.weights, &self.biases, act, fused)
    }

    fn layers_with(
        &self,
        x: &Tensor,
        ws: &[Tensor],
        bs: &[Tensor],
        act: Activation,
        fused: bool,
    ) -> Vec<Tensor> {
        let mut out = vec![];
        let mut h = x.clone();
        for (i, (w, b)) in ws.iter().zip(bs).enumerate() {
            let pre = if fused {
                h.linear(w, Some(b))
            } else {
                h.matmul_transposed(w).add(b)
            };
            h = if i + 1 < ws.len() {
                act.apply(&pre)
            } else {
                pre.clone()
            };
            out.push(pre);
        }
        out
    }

    fn loss(&self, x: &Tensor, act: Activation, fused: bool) -> Tensor {
        let y = self.layers(x, act, fused).pop().expect("layers");
        y.square().sum_all()
    }
}

const ACTIVATIONS: [Activation; 9] = [
    Activation::Tanh,
    Activation::Silu,
    Activation::Softplus,
    Activation::Sin,
    Activation::Sigmoid,
    Activation::Elu,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.1 },
    Activation::Identity,
];

#[test]
fn hvp_wrt_input_of_mlps_matches_both_oracles_for_every_activation() {
    let net = Net::new(&[3, 7, 6, 2], 1);
    let mut r = rng(2);
    let x = Tensor::randn(&[4, 3], DType::F64, &mut r);
    let v = Tensor::randn(&[4, 3], DType::F64, &mut r);
    for act in ACTIVATIONS {
        // Piecewise activations: the finite difference is valid only away from their kinks
        // (ε |W v| ≈ 1e-5 here), which this seed satisfies by a wide margin.
        let hidden = net.layers(&x, act, true);
        let margin = hidden[..hidden.len() - 1]
            .iter()
            .flat_map(|h| h.to_vec_f64())
            .fold(f64::INFINITY, |m, h| m.min(h.abs()));
        assert!(
            margin > 1e-3,
            "{act:?}: a pre-activation is {margin:.1e} from a kink"
        );
        for fused in [true, false] {
            let f = |x: &Tensor| net.loss(x, act, fused);
            check_hvp(&format!("{act:?} fused={fused}"), &f, &x, &v, true);
        }
    }
}

#[test]
fn hessian_wrt_parameters_by_jvp_of_gradient_matches_reverse_over_reverse() {
    let net = Net::new(&[3, 5, 2], 3);
    let mut r = rng(4);
    let x = Tensor::randn(&[6, 3], DType::F64, &mut r);
    for act in [Activation::Tanh, Activation::Silu, Activation::Softplus] {
        let params: Vec<Tensor> = net
            .weights
            .iter()
            .chain(&net.biases)
            .map(|p| p.requires_grad())
            .collect();
        let dirs: Vec<Tensor> = params
            .iter()
            .map(|p| Tensor::randn(p.shape(), DType::F64, &mut r))
            .collect();
        let loss = |ps: &[Tensor]| {
            let (ws, bs) = ps.split_at(net.weights.len());
            let y = net.layers_with(&x, ws, bs, act, true).pop().expect("out");
            y.tanh().sum_all()
        };
        // Forward over reverse: every parameter dual, one backward pass.
        let duals: Vec<Tensor> = params
            .iter()
            .zip(&dirs)
            .map(|(p, d)| make_dual(p, d))
            .collect();
        let refs: Vec<&Tensor> = duals.iter().collect();
        let fwd: Vec<Tensor> = grad(&loss(&duals), &refs)
            .iter()
            .map(|g| g.tangent().expect("tangent of the gradient"))
            .collect();
        // Reverse over reverse: ∇θ ⟨∇θ L, d⟩.
        let refs: Vec<&Tensor> = params.iter().collect();
        let g = grad_with_graph(&loss(&params), &refs);
        let gd = g
            .iter()
            .zip(&dirs)
            .map(|(g, d)| g.mul(d).sum_all())
            .reduce(|a, b| a.add(&b))
            .expect("params");
        let rev = grad(&gd, &refs);
        for (i, (a, b)) in fwd.iter().zip(&rev).enumerate() {
            assert!(
                rel_err(a, b) < 1e-11,
                "{act:?} parameter {i}: {:.2e}",
                rel_err(a, b)
            );
        }
        // And `jvp` of the gradient with respect to one weight matrix, against finite
        // differences of that gradient.
        let w0 = &params[0];
        let f0 = |w: &Tensor| {
            let mut ps = params.clone();
            ps[0] = w.clone();
            loss(&ps)
        };
        let (_, hv) = jvp(|w| grad(&f0(w), &[w]).remove(0), w0, &dirs[0]);
        let e = rel_err(&hv, &fd_hvp(&f0, w0, &dirs[0]));
        assert!(e < 1e-6, "{act:?}: jvp of ∇_W vs finite difference {e:.2e}");
    }
}

#[test]
fn mixed_second_derivative_reaches_targets_without_tangents() {
    // d/dε ∇_W L(x + εv, W) = ∇_W ⟨∇_x L, v⟩: the output is dual, the target W is not.
    let net = Net::new(&[3, 6, 2], 5);
    let mut r = rng(6);
    let x = Tensor::randn(&[5, 3], DType::F64, &mut r).requires_grad();
    let v = Tensor::randn(&[5, 3], DType::F64, &mut r);
    let w = net.weights[0].requires_grad();
    let f = |x: &Tensor, w: &Tensor| {
        let ws = [w.clone(), net.weights[1].clone()];
        let y = net.layers_with(x, &ws, &net.biases, Activation::Silu, true);
        y.last().expect("out").square().sum_all()
    };
    let (_, mixed) = jvp(|x| grad(&f(x, &w), &[&w]).remove(0), &x, &v);
    let gx = grad_with_graph(&f(&x, &w), &[&x]).remove(0);
    let oracle = grad(&gx.mul(&v).sum_all(), &[&w]).remove(0);
    assert!(rel_err(&mixed, &oracle) < 1e-11);
    assert!(oracle.to_vec_f64().iter().any(|m| *m != 0.0));
}

/// A scalar function touching reductions, broadcasting, selection, joins, shapes, batched
/// products and `slogdet`, for `x: [3, 4]`.
fn kitchen_sink(x: &Tensor) -> Tensor {
    let c = Tensor::from_slice(&[0.5f64, -1.0, 2.0, 0.25], &[4]);
    let a = Tensor::from_slice(
        &[
            0.3f64, -0.2, 0.1, 0.4, 0.5, -0.6, 0.7, 0.2, -0.1, 0.9, 0.3, -0.4,
        ],
        &[4, 3],
    );
    let h = x.mul(&c).add(&x.sum_axis(0, true).mul_scalar(0.1)); // broadcasting
    let s = h.matmul(&a).tanh().logsumexp(1, false).sum_all();
    let n = x.norm_eps(1, false, 1e-3).mean_all();
    let q = h
        .div(&x.square().add_scalar(1.0))
        .sum_axis(0, false)
        .exp()
        .sum_all();
    let sm = x.softmax(1).mul(x).sum_all();
    let mx = x.max_axis(1, false).sum_all();
    let j = Tensor::concat(&[x, &x.sin()], 1)
        .narrow(1, 1, 4)
        .square()
        .sum_all();
    let gram = x.permute(&[1, 0]).matmul(x);
    let p = gram.square().add_scalar(1.0).sqrt().sum_all();
    let outer = x.unsqueeze(2).matmul(&x.unsqueeze(1)).mul_scalar(0.1); // [3, 4, 4]
    let eye = Tensor::eye(4, DType::F64);
    let (_, logdet) = outer.add(&eye).slogdet();
    let sel = x.maximum(&x.mul_scalar(0.5)).atan().recip().sum_all();
    let sp = x.reshape(&[12]).sigmoid().log1p().powf(1.5).mean_all();
    s.add(&n)
        .add(&q)
        .add(&sm)
        .add(&mx)
        .add(&j)
        .add(&p)
        .add(&logdet.sum_all())
        .add(&sel)
        .add(&sp)
}

#[test]
fn hvp_through_reductions_broadcasting_selection_joins_and_slogdet() {
    let mut r = rng(7);
    // Away from ties of the max and of `maximum` (x = 0): both are piecewise.
    let x = Tensor::randn(&[3, 4], DType::F64, &mut r).add_scalar(0.05);
    let v = Tensor::randn(&[3, 4], DType::F64, &mut r);
    assert!(x.to_vec_f64().iter().all(|a| a.abs() > 1e-3));
    check_hvp("kitchen sink", &kitchen_sink, &x, &v, true);
}

#[test]
fn tangent_of_a_recorded_gradient_is_differentiable() {
    // x ↦ ⟨H(x) v, u⟩ through jvp(grad_with_graph): its gradient is the third derivative
    // contracted with v and u; checked against a finite difference along w.
    let f = |x: &Tensor| {
        x.tanh()
            .mul(&x.square())
            .sum_all()
            .add(&x.sin().sum_all().powf(3.0))
    };
    let mut r = rng(8);
    let x = Tensor::randn(&[5], DType::F64, &mut r);
    let (v, u, w) = (
        Tensor::randn(&[5], DType::F64, &mut r),
        Tensor::randn(&[5], DType::F64, &mut r),
        Tensor::randn(&[5], DType::F64, &mut r),
    );
    let hvu = |x: &Tensor| {
        let (_, hv) = jvp(|x| grad_with_graph(&f(x), &[x]).remove(0), x, &v);
        hv.mul(&u).sum_all()
    };
    let xt = x.requires_grad();
    let third = grad(&hvu(&xt), &[&xt]).remove(0);
    let eps = 1e-5;
    let at = |s: f64| hvu(&x.add(&w.mul_scalar(s)).requires_grad()).item();
    let fd = (at(eps) - at(-eps)) / (2.0 * eps);
    let exact: f64 = third
        .to_vec_f64()
        .iter()
        .zip(w.to_vec_f64())
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        (exact - fd).abs() < 1e-6 * (1.0 + fd.abs()),
        "{exact} vs {fd}"
    );
}

#[test]
fn dense_hessian_as_jacobian_of_the_gradient() {
    // jacobian(∇E) used to panic; now each column is a forward-over-reverse HVP.
    let x = Tensor::from_slice(&[0.3f64, -0.8, 1.1], &[1, 3]).requires_grad();
    let e = |x: &Tensor| x.tanh().mul(x).sum_all().add(&x.sum_all().powf(3.0));
    let h = jacobian(|x| grad(&e(x), &[x]).remove(0), &x); // [1, 3, 3]
    for i in 0..3 {
        let mut ei = vec![0.0; 3];
        ei[i] = 1.0;
        let col = hvp_reverse(e, &x, &Tensor::from_vec(ei, &[1, 3])).to_vec_f64();
        for (j, cj) in col.iter().enumerate() {
            let hij = h.to_vec_f64()[j * 3 + i];
            assert!((hij - cj).abs() < 1e-12, "H[{j},{i}] = {hij} vs {cj}");
        }
    }
}

#[test]
fn plain_backward_through_dual_computations_carries_no_tangent() {
    // Reverse over forward (free-form flows): a loss built from primals and tangents is not
    // dual, so its backward pass strips the tangents the tape kept and costs a plain pass.
    let net = Net::new(&[3, 5, 3], 9);
    let mut r = rng(10);
    let x = Tensor::randn(&[4, 3], DType::F64, &mut r).requires_grad();
    let v = Tensor::randn(&[4, 3], DType::F64, &mut r);
    let y = net
        .layers(&make_dual(&x, &v), Activation::Tanh, true)
        .pop()
        .expect("out");
    let jv = y.tangent().expect("tangent");
    let loss = y.primal().square().sum_all().add(&jv.square().sum_all());
    assert!(loss.tangent().is_none());
    let g = grad(&loss, &[&x]).remove(0);
    assert!(g.tangent().is_none());
    // Same gradient as without the dual input for the primal part.
    let plain = grad(&net.loss(&x, Activation::Tanh, true), &[&x]).remove(0);
    let primal_part = grad(&y.primal().square().sum_all(), &[&x]).remove(0);
    assert!(rel_err(&primal_part, &plain) < 1e-14);
    assert!(primal_part.tangent().is_none());
    // And `backward` on a dual output gives dual gradients (the tangent of ∇f).
    let out = net.loss(&make_dual(&x, &v), Activation::Tanh, true);
    let grads = out.backward();
    let hv = grads
        .get(&x)
        .and_then(Tensor::tangent)
        .expect("dual gradient");
    let oracle = hvp_reverse(|x| net.loss(x, Activation::Tanh, true), &x, &v);
    assert!(rel_err(&hv, &oracle) < 1e-11);
}

#[test]
fn a_dual_cotangent_gives_the_tangent_of_the_vjp() {
    // d/dε [J(x)ᵀ (c + ε ċ)] = J(x)ᵀ ċ for a fixed x.
    let net = Net::new(&[3, 4, 2], 11);
    let mut r = rng(12);
    let x = Tensor::randn(&[2, 3], DType::F64, &mut r).requires_grad();
    let (c, cdot) = (
        Tensor::randn(&[2, 2], DType::F64, &mut r),
        Tensor::randn(&[2, 2], DType::F64, &mut r),
    );
    let y = net.layers(&x, Activation::Silu, true).pop().expect("out");
    let dual = vjp(&y, &[&x], &make_dual(&c, &cdot)).remove(0);
    let tangent = dual.tangent().expect("tangent of the vjp");
    assert!(rel_err(&tangent, &vjp(&y, &[&x], &cdot).remove(0)) < 1e-13);
}

#[test]
#[should_panic(expected = "make_dual: the primal (shape [3]) already carries a tangent")]
fn make_dual_of_a_dual_tensor_is_a_clear_panic() {
    // A tangent of a tangent is not supported (one tangent per tensor); never silently zero.
    let x = Tensor::from_slice(&[1.0f64, 2.0, 3.0], &[3]);
    let v = x.ones_like();
    let _ = make_dual(&make_dual(&x, &v), &v);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random widths, batch, activation and seed: forward-over-reverse equals
    /// reverse-over-reverse, and (smooth activations) the finite difference.
    #[test]
    fn hvp_of_random_mlps_matches_reverse_over_reverse(
        batch in 1usize..5,
        input in 1usize..5,
        hidden in prop::collection::vec(1usize..8, 1..3),
        act in 0usize..ACTIVATIONS.len(),
        fused in any::<bool>(),
        seed in 0u64..10_000,
    ) {
        let mut widths = vec![input];
        widths.extend(&hidden);
        widths.push(2);
        let net = Net::new(&widths, seed);
        let mut r = rng(seed + 1);
        let x = Tensor::randn(&[batch, input], DType::F64, &mut r);
        let v = Tensor::randn(&[batch, input], DType::F64, &mut r);
        let act = ACTIVATIONS[act];
        let f = |x: &Tensor| net.loss(x, act, fused).add(&x.sin().sum_all());
        let smooth = !matches!(act, Activation::Relu | Activation::LeakyRelu { .. } | Activation::Elu);
        let (fwd, rev) = (hvp(f, &x, &v), hvp_reverse(f, &x, &v));
        prop_assert!(rel_err(&fwd, &rev) < 1e-11, "{:?}: {:.2e}", act, rel_err(&fwd, &rev));
        if smooth {
            prop_assert!(rel_err(&fwd, &fd_hvp(&f, &x, &v)) < 1e-6);
        }
    }
}

#[test]
fn hvp_leaves_tangent_recording_as_it_found_it() {
    // hvp computes its forward tangents without a tape; afterwards (same thread) a JVP's
    // tangent must again be recorded, i.e. differentiable, as free-form flows need.
    let x = Tensor::from_slice(&[0.5f64, -1.0], &[2]).requires_grad();
    let v = Tensor::from_slice(&[1.0f64, 2.0], &[2]);
    let _ = hvp(|x| x.tanh().sum_all(), &x, &v);
    let (_, jv) = jvp(|x| x.tanh(), &x, &v);
    assert!(jv.is_tracked(), "tangent not recorded after hvp");
    let g = grad(&jv.sum_all(), &[&x]).remove(0).to_vec_f64();
    // d/dx [tanh′(x) v] = −2 tanh(x) (1 − tanh²(x)) v
    for ((xi, vi), gi) in [0.5f64, -1.0].iter().zip([1.0, 2.0]).zip(g) {
        let t = xi.tanh();
        assert!((gi + 2.0 * t * (1.0 - t * t) * vi).abs() < 1e-12);
    }
}
