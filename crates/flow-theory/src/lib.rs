//! flow-theory (under construction)
