//! flow-data (under construction)
