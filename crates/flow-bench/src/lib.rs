//! flow-bench (under construction)
