//! flow-freeform (under construction)
