pub mod proc;
pub mod time;
