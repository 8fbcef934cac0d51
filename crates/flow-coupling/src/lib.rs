//! flow-coupling (under construction)
