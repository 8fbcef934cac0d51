//! TRADE (arXiv 2410.19492, crate flow-trade): conditional flows across an external parameter
//! trained as a boundary value problem, against baselines on the same budget.

pub mod double_well;
pub mod gmm6;
pub mod methods;
pub mod multiwell;
pub mod phi4;
mod phi4_report;
mod presets;
mod report;
pub mod reverse_kl;
#[cfg(test)]
mod tests;
pub mod two_moons;

pub use double_well::TradeDoubleWell;
pub use gmm6::TradeGmm6;
pub use multiwell::TradeMultiWell;
pub use phi4::TradePhi4;
pub use two_moons::TradeTwoMoons;
