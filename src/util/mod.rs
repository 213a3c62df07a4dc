pub mod passwd;
pub mod proc;
pub mod time;
