//! Every primitive's VJP and JVP against central finite differences in f64, to second order
//! (reverse-over-reverse, reverse-over-forward and forward-over-reverse), over random shapes
//! and values (proptest).

use flow_core::testing::GradCheck;
use flow_core::{DType, Tensor};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// Where an op's inputs are drawn from.
#[derive(Clone, Copy, Debug)]
enum Domain {
    /// Any real in [−2, 2].
    Real,
    /// Positive, in [0.2, 2].
    Positive,
    /// |x| in [0.1, 2] with random sign (away from kinks at 0).
    AwayFromZero,
}

type OpFn = fn(&[Tensor]) -> Tensor;
type Shapes = fn(usize, usize) -> Vec<Vec<usize>>;

/// (name, function, input shapes given a batch size b and width n, domain)
fn table() -> Vec<(&'static str, OpFn, Shapes, Domain)> {
    fn one(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n]]
    }
    fn two(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n], vec![b, n]]
    }
    fn row(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n], vec![n]]
    }
    fn mat(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n], vec![n, n + 1]]
    }
    fn affine(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n], vec![n + 1, n], vec![n + 1]]
    }
    fn affine_no_bias(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n], vec![n + 1, n]]
    }
    fn bmat(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, 2, n], vec![b, n, 3]]
    }
    fn square(b: usize, n: usize) -> Vec<Vec<usize>> {
        vec![vec![b, n.min(4), n.min(4)]]
    }
    use Domain::*;
    vec![
        ("add", |x| x[0].add(&x[1]), two, Real),
        ("add_broadcast", |x| x[0].add(&x[1]), row, Real),
        ("sub_broadcast", |x| x[0].sub(&x[1]), row, Real),
        ("mul", |x| x[0].mul(&x[1]), two, Real),
        ("mul_broadcast", |x| x[0].mul(&x[1]), row, Real),
        ("div", |x| x[0].div(&x[1]), two, Positive),
        ("neg", |x| x[0].neg(), one, Real),
        ("exp", |x| x[0].exp(), one, Real),
        ("log", |x| x[0].log(), one, Positive),
        ("log1p", |x| x[0].log1p(), one, Positive),
        ("sqrt", |x| x[0].sqrt(), one, Positive),
        ("recip", |x| x[0].recip(), one, Positive),
        ("powf", |x| x[0].powf(2.5), one, Positive),
        ("abs", |x| x[0].abs(), one, AwayFromZero),
        ("sin", |x| x[0].sin(), one, Real),
        ("atan", |x| x[0].atan(), one, Real),
        ("cos", |x| x[0].cos(), one, Real),
        ("tanh", |x| x[0].tanh(), one, Real),
        ("sigmoid", |x| x[0].sigmoid(), one, Real),
        ("softplus", |x| x[0].softplus(), one, Real),
        ("relu", |x| x[0].relu().mul(&x[0]), one, AwayFromZero),
        (
            "leaky_relu",
            |x| x[0].leaky_relu(0.1).mul(&x[0]),
            one,
            AwayFromZero,
        ),
        ("elu", |x| x[0].elu(), one, AwayFromZero),
        ("silu", |x| x[0].silu(), one, Real),
        ("silu_prime", |x| x[0].silu_prime(), one, Real),
        (
            "clamp",
            |x| x[0].clamp(-0.05, 0.05).mul(&x[0]),
            one,
            AwayFromZero,
        ),
        ("matmul", |x| x[0].matmul(&x[1]), mat, Real),
        ("linear", |x| x[0].linear(&x[1], Some(&x[2])), affine, Real),
        (
            "linear_no_bias",
            |x| x[0].linear(&x[1], None),
            affine_no_bias,
            Real,
        ),
        (
            "matmul_transposed",
            |x| x[0].matmul_transposed(&x[0].exp()),
            one,
            Real,
        ),
        (
            "transposed_matmul",
            |x| x[0].transposed_matmul(&x[0].sin()),
            one,
            Real,
        ),
        ("batched_matmul", |x| x[0].matmul(&x[1]), bmat, Real),
        ("sum_axis", |x| x[0].exp().sum_axis(1, false), one, Real),
        ("sum_all", |x| x[0].square().sum_all(), one, Real),
        ("mean_axis", |x| x[0].sin().mean_axis(0, true), one, Real),
        ("max_axis", |x| x[0].max_axis(1, false).square(), one, Real),
        ("logsumexp", |x| x[0].logsumexp(1, false), one, Real),
        ("softmax", |x| x[0].softmax(1), one, Real),
        ("log_softmax", |x| x[0].log_softmax(0), one, Real),
        ("norm", |x| x[0].norm(1, false), one, AwayFromZero),
        ("var_axis", |x| x[0].var_axis(0, false), one, Real),
        ("reshape", |x| x[0].reshape(&[x[0].len()]).exp(), one, Real),
        ("transpose", |x| x[0].t().matmul(&x[0]), one, Real),
        (
            "permute",
            |x| x[0].unsqueeze(0).permute(&[2, 0, 1]).sin(),
            one,
            Real,
        ),
        (
            "broadcast_to",
            |x| {
                x[0].sum_axis(1, false)
                    .broadcast_to(&[3, x[0].dim(0)])
                    .mul(&x[0].narrow(1, 0, 1).squeeze(1).sin())
            },
            one,
            Real,
        ),
        (
            "concat",
            |x| Tensor::concat(&[&x[0], &x[1].exp()], 1).tanh(),
            two,
            Real,
        ),
        (
            "narrow",
            |x| x[0].narrow(1, 1, x[0].dim(1) - 1).exp(),
            one,
            Real,
        ),
        (
            "split",
            |x| {
                let p = x[0].split(0, &[1, x[0].dim(0) - 1]);
                p[0].sum_all().mul(&p[1].sin())
            },
            one,
            Real,
        ),
        ("pad_zeros", |x| x[0].pad_zeros(1, 2, 1).exp(), one, Real),
        (
            "index_select",
            |x| x[0].index_select(0, &[0, 0, 1]).sin(),
            one,
            Real,
        ),
        (
            "index_add",
            |x| x[0].sin().index_add(0, &vec![1; x[0].dim(0)], 3).exp(),
            one,
            Real,
        ),
        (
            "where",
            |x| Tensor::where_cond(&x[0].gt(&x[1]), &x[0].exp(), &x[1].sin()),
            two,
            Real,
        ),
        ("maximum", |x| x[0].maximum(&x[1]).mul(&x[0]), two, Real),
        (
            "inverse",
            |x| {
                x[0].add(&Tensor::eye(x[0].dim(1), DType::F64).mul_scalar(3.0))
                    .inverse()
            },
            square,
            Real,
        ),
        (
            "slogdet",
            |x| {
                x[0].add(&Tensor::eye(x[0].dim(1), DType::F64).mul_scalar(3.0))
                    .slogdet()
                    .1
            },
            square,
            Real,
        ),
        (
            "cast_roundtrip",
            |x| x[0].to_dtype(DType::F32).to_dtype(DType::F64).mul(&x[0]),
            one,
            Real,
        ),
    ]
}

fn sample(shape: &[usize], domain: Domain, rng: &mut Xoshiro256PlusPlus) -> Tensor {
    let u = Tensor::rand_uniform(shape, 0.0, 1.0, DType::F64, rng);
    match domain {
        Domain::Real => u.map_values(|v| 4.0 * v - 2.0),
        Domain::Positive => u.map_values(|v| 0.2 + 1.8 * v),
        Domain::AwayFromZero => {
            let s = Tensor::rand_uniform(shape, 0.0, 1.0, DType::F64, rng);
            let mag = u.map_values(|v| 0.1 + 1.9 * v);
            mag.mul(&s.map_values(|v| if v < 0.5 { -1.0 } else { 1.0 }))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_op_matches_finite_differences(batch in 2usize..4, width in 2usize..5, seed in 0u64..1000) {
        let check = GradCheck { eps: 1e-6, tol: 2e-6, order: 2, seed };
        for (name, f, shapes, domain) in table() {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let inputs: Vec<Tensor> = shapes(batch, width).iter().map(|s| sample(s, domain, &mut rng)).collect();
            // The cast op loses precision through f32 on purpose; check its first order loosely.
            let check = if name == "cast_roundtrip" { GradCheck { eps: 1e-2, tol: 1e-4, order: 1, ..check.clone() } } else { check.clone() };
            let result = check.run(&f, &inputs);
            prop_assert!(result.is_ok(), "{}: {}", name, result.unwrap_err());
        }
    }
}
