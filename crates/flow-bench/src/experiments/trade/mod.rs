//! TRADE (arXiv 2410.19492, crate flow-trade): conditional flows across an external parameter
//! trained as a boundary value problem, against baselines on the same budget.

pub mod double_well;
pub mod reverse_kl;

pub use double_well::TradeDoubleWell;
