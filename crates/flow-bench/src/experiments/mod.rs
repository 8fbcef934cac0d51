//! One module per paper (or foundation crate), each holding that page's experiments and their
//! typed presets. Register new experiments in [`crate::registry::registry`].

pub mod coupling;
pub mod flow_core;
pub mod flow_data;
pub mod free_form;
pub mod injective;
pub mod landscape;
pub mod manifold;
pub mod reject;
pub mod run_store;
pub mod theory;
pub mod trade;
pub mod universality;
