//! One row of the spline, once its bin is known: the forward map in `θ`, the inverse's root,
//! and the reverse-mode rules of both (the equations are in the [module docs](super)).

use flow_core::Element;

use super::c;

/// One row's bin: the (clamped) input `v` and `x_k, y_k, w_k, h_k, d_k, d_{k+1}`.
#[derive(Clone, Copy)]
pub(super) struct Bin<T> {
    pub v: T,
    pub xk: T,
    pub yk: T,
    pub wk: T,
    pub hk: T,
    pub dk: T,
    pub dk1: T,
}

/// One row's intermediates at `θ`.
pub(super) struct Row<T> {
    pub theta: T,
    pub s: T,
    pub c2: T,
    pub t: T,
    pub denom: T,
    pub p: T,
    pub numer: T,
}

/// The intermediates at `θ = (x − x_k)/w_k` (forward) or at the root `θ` of
/// `y_k + h_k P(θ)/D(θ) = y` (inverse).
#[inline(always)]
pub(super) fn row<T: Element>(b: Bin<T>, inverse: bool) -> Row<T> {
    let two = c::<T>(2.0);
    let s = b.hk / b.wk;
    let c2 = b.dk1 + b.dk - two * s;
    let theta = if inverse {
        let delta = b.v - b.yk;
        let qa = b.hk * (s - b.dk) + delta * c2;
        let qb = b.hk * b.dk - delta * c2;
        let qc = -(s * delta);
        let disc = (qb * qb - c::<T>(4.0) * qa * qc).max(T::zero());
        two * qc / (-qb - disc.sqrt())
    } else {
        (b.v - b.xk) / b.wk
    };
    let om = T::one() - theta;
    let t = theta * om;
    Row {
        theta,
        s,
        c2,
        t,
        denom: s + c2 * t,
        p: s * theta * theta + b.dk * t,
        numer: b.dk1 * theta * theta + two * s * t + b.dk * om * om,
    }
}

/// `ℓ = 2 ln s + ln N − 2 ln D`, the forward log-derivative.
#[inline(always)]
pub(super) fn log_deriv<T: Element>(q: &Row<T>) -> T {
    let two = c::<T>(2.0);
    two * q.s.ln_fast() + q.numer.ln_fast() - two * q.denom.ln_fast()
}

/// Cotangents of `y = y_k + h_k P/D` and `ℓ` with respect to `θ`, `s`, `h_k` (direct) and the
/// knot derivatives, at fixed `θ`.
struct ThetaGrads<T> {
    theta: T,
    s: T,
    hk: T,
    dk: T,
    dk1: T,
}

#[inline(always)]
fn theta_adjoints<T: Element>(b: Bin<T>, q: &Row<T>, gy: T, gl: T) -> ThetaGrads<T> {
    let (two, one) = (c::<T>(2.0), T::one());
    let (theta, om) = (q.theta, one - q.theta);
    let gp = gy * b.hk / q.denom;
    let gden = -(gy * b.hk * q.p) / (q.denom * q.denom) - two * gl / q.denom;
    let gnum = gl / q.numer;
    let gt = gden * q.c2 + gp * b.dk + two * gnum * q.s;
    ThetaGrads {
        theta: gt * (one - two * theta)
            + two * gnum * (b.dk1 * theta - b.dk * om)
            + two * gp * q.s * theta,
        s: two * gl / q.s + gden * (one - two * q.t) + gp * theta * theta + two * gnum * q.t,
        hk: gy * q.p / q.denom,
        dk: gden * q.t + gnum * om * om + gp * q.t,
        dk1: gden * q.t + gnum * theta * theta,
    }
}

/// Per-row cotangents of the input and of the row's bin.
pub(super) struct RowGrads<T> {
    pub input: T,
    pub xk: T,
    pub yk: T,
    pub wk: T,
    pub hk: T,
    pub dk: T,
    pub dk1: T,
}

/// Forward: `θ = (x − x_k)/w_k` and `s = h_k/w_k` carry `θ̄` and `s̄` on to `x, x_k, w_k, h_k`.
#[inline(always)]
pub(super) fn forward_vjp<T: Element>(b: Bin<T>, gy: T, gl: T) -> RowGrads<T> {
    let q = row(b, false);
    let g = theta_adjoints(b, &q, gy, gl);
    RowGrads {
        input: g.theta / b.wk,
        xk: -g.theta / b.wk,
        yk: gy,
        wk: -(g.s * q.s + g.theta * q.theta) / b.wk,
        hk: g.hk + g.s / b.wk,
        dk: g.dk,
        dk1: g.dk1,
    }
}

/// Inverse, by the implicit function theorem: the outputs are `x = x_k + θ w_k` and `−ℓ(θ)`
/// with `θ` the root of `y(θ, p) = y_in`, so `∂θ/∂y_in = 1/y_θ` and `∂θ/∂p = −y_p/y_θ`. With
/// `θ̄ = x̄ w_k − ℓ̄ ℓ_θ`, the input's cotangent is `ȳ_in = θ̄ / y_θ`, and the parameters get
/// the forward rules at fixed `θ` with cotangents `(−ȳ_in, −ℓ̄)`, plus `x`'s direct terms.
/// Here `y_θ = s h_k N / D²` (`g′ w_k`) and `ℓ_θ = N_θ/N − 2 D_θ/D` with
/// `N_θ = 2 (d_{k+1} θ − d_k (1 − θ) + s (1 − 2θ))`, `D_θ = c₂ (1 − 2θ)`.
#[inline(always)]
pub(super) fn inverse_vjp<T: Element>(b: Bin<T>, gx: T, gl: T) -> RowGrads<T> {
    let (two, one) = (c::<T>(2.0), T::one());
    let q = row(b, true);
    let (theta, om) = (q.theta, one - q.theta);
    let n_theta = two * (b.dk1 * theta - b.dk * om + q.s * (one - two * theta));
    let d_theta = q.c2 * (one - two * theta);
    let l_theta = n_theta / q.numer - two * d_theta / q.denom;
    let y_theta = q.s * b.hk * q.numer / (q.denom * q.denom);
    let g_in = (gx * b.wk - gl * l_theta) / y_theta;
    let g = theta_adjoints(b, &q, -g_in, -gl);
    RowGrads {
        input: g_in,
        xk: gx,
        yk: -g_in,
        wk: gx * theta - g.s * q.s / b.wk,
        hk: g.hk + g.s / b.wk,
        dk: g.dk,
        dk1: g.dk1,
    }
}
