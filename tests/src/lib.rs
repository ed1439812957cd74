pub mod edda;
pub mod guests;
